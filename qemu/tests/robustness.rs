//! Bad input from user space never takes the kernel down: a program throws tens of
//! thousands of random system calls with hostile arguments (kernel addresses,
//! non-canonical pointers, huge lengths, random flags) from forked children, and the
//! kernel must still be there to power off cleanly.

use std::process::{Command, Stdio};

const WRIT_RUN: &str = env!("CARGO_BIN_EXE_writ-run");

#[test]
fn random_syscalls_never_bring_the_kernel_down() {
    let dir = writ_qemu::paths::workspace_root().join("target/robustness");
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/sysfuzz.c");
    let st = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("sysfuzz"))
        .arg(&src)
        .status()
        .expect("musl-gcc (scripts/setup.sh installs musl-tools)");
    assert!(st.success());
    let out = Command::new(WRIT_RUN)
        .arg("--overlay")
        .arg(&dir)
        .args([
            "--exec",
            "/sysfuzz 40 1500",
            "--append",
            "log=error",
            "--timeout",
            "300",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(!text.contains("KERNEL PANIC"), "{text}");
    assert!(!text.contains("EXCEPTION"), "{text}");
    assert!(
        text.contains("survived 40 rounds of 1500 random calls"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
}
