//! Debian's busybox-static (glibc, statically linked; installed by scripts/setup.sh)
//! runs a shell pipeline on Writ: fork, exec, pipes, files and signals together, the
//! way a user's first command line uses them.

use std::path::Path;
use std::process::{Command, Stdio};

const WRIT_RUN: &str = env!("CARGO_BIN_EXE_writ-run");

fn overlay(name: &str) -> std::path::PathBuf {
    let dir = writ_qemu::paths::workspace_root()
        .join("target/busybox-overlay")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    let bb = Path::new("/bin/busybox");
    assert!(
        bb.exists(),
        "/bin/busybox missing: scripts/setup.sh installs busybox-static"
    );
    std::fs::copy(bb, dir.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "ls", "wc", "cat", "grep", "echo", "sed", "sort", "head", "tr", "expr", "seq",
    ] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    dir
}

fn run(name: &str, cmd: &str) -> (String, i32) {
    let dir = overlay(name);
    let out = Command::new(WRIT_RUN)
        .arg("--overlay")
        .arg(&dir)
        .args(["--exec", cmd, "--append", "log=off", "--timeout", "120"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("Writ ") && !l.starts_with("writ: poweroff"))
        .map(|l| format!("{l}\n"))
        .collect();
    (body, out.status.code().unwrap_or(-1))
}

#[test]
fn busybox_shell_pipeline() {
    let (out, status) = run(
        "pipeline",
        "ls / | wc -l; echo $((6*7)); cat /etc/passwd | grep root",
    );
    // The root holds the overlay's bin and etc, and the /dev the kernel makes.
    assert_eq!(out, "3\n42\nroot:x:0:0:root:/root:/bin/sh\n");
    assert_eq!(status, 0);
}

#[test]
fn busybox_status_files_and_substitution() {
    let (out, status) = run(
        "files",
        "mkdir /tmp && cd /tmp && seq 1 5 > n && sort -r n | head -2 | tr '\\n' ' '; echo; \
         echo \"lines: $(wc -l < n)\"; sed -i 's/3/three/' n && grep -c three n; exit 7",
    );
    assert_eq!(out, "5 4 \nlines: 5\n1\n");
    assert_eq!(status, 7);
}
