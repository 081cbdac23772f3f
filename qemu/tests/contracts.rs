//! Contract tests: each program in `qemu/contracts/*.c` is compiled with
//! `musl-gcc -static`, run on the host's Linux and on Writ (`writ-run --overlay DIR
//! --exec /NAME`), and must print the same lines and exit with the same status. Linux
//! is the oracle. What each program checks is in its opening comment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WRIT_RUN: &str = env!("CARGO_BIN_EXE_writ-run");

fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

fn build_dir() -> PathBuf {
    let d = writ_qemu::paths::workspace_root().join("target/contracts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles `name.c` into its own overlay directory (`target/contracts/name/name`).
fn compile(name: &str) -> PathBuf {
    let dir = build_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(name);
    let src = contracts_dir().join(format!("{name}.c"));
    let out = Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("musl-gcc is installed (scripts/setup.sh installs musl-tools)");
    assert!(
        out.status.success(),
        "compiling {}: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Compiles `name.c` as a dynamic executable (PT_INTERP /lib/ld-musl-x86_64.so.1) and
/// each `plugins/P.c` as `libP.so` beside it. Writ's overlay also gets the host's musl
/// loader at /lib/ld-musl-x86_64.so.1, the same file the host runs it with.
fn compile_dynamic(name: &str, plugins: &[&str]) -> PathBuf {
    let dir = build_dir().join(name);
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("musl-gcc").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "musl-gcc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for p in plugins {
        let src = contracts_dir().join("plugins").join(format!("{p}.c"));
        let lib = dir.join(format!("lib{p}.so"));
        run(&[
            "-O2".as_ref(),
            "-shared".as_ref(),
            "-fPIC".as_ref(),
            "-o".as_ref(),
            lib.as_os_str(),
            src.as_os_str(),
        ]);
    }
    let exe = dir.join(name);
    let src = contracts_dir().join(format!("{name}.c"));
    run(&[
        "-O2".as_ref(),
        "-Wall".as_ref(),
        "-pthread".as_ref(),
        "-o".as_ref(),
        exe.as_os_str(),
        src.as_os_str(),
        "-ldl".as_ref(),
    ]);
    let loader = std::fs::canonicalize("/lib/ld-musl-x86_64.so.1")
        .expect("musl's loader (scripts/setup.sh installs musl-tools)");
    std::fs::copy(loader, dir.join("lib/ld-musl-x86_64.so.1")).unwrap();
    exe
}

struct Run {
    stdout: String,
    status: i32,
}

fn on_linux(exe: &Path, args: &[&str]) -> Run {
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status: out.status.code().unwrap_or(-1),
    }
}

fn on_writ(name: &str, exe: &Path, args: &[&str]) -> Run {
    let overlay = exe.parent().unwrap();
    let cmd = std::iter::once(format!("/{name}"))
        .chain(args.iter().map(|s| s.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(WRIT_RUN)
        .arg("--overlay")
        .arg(overlay)
        .args(["--exec", &cmd, "--append", "log=off", "--timeout", "60"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let serial = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    // The program's output is everything between the banner and the status line.
    let stdout: String = serial
        .lines()
        .filter(|l| !is_banner(l) && !l.starts_with("writ: poweroff status="))
        .map(|l| format!("{l}\n"))
        .collect();
    Run {
        stdout,
        status: out.status.code().unwrap_or(-1),
    }
}

fn is_banner(line: &str) -> bool {
    line.starts_with("Writ ") && line.ends_with("a capability kernel")
}

fn contract(name: &str, args: &[&str]) {
    compare(name, &compile(name), args);
}

/// Runs an already built program on the host's Linux and on Writ and compares.
fn compare(name: &str, exe: &Path, args: &[&str]) {
    let linux = on_linux(exe, args);
    compare_with(name, exe, args, linux);
}

/// Compares Writ's run of `exe` with a Linux run made elsewhere (in a namespace).
fn compare_with(name: &str, exe: &Path, args: &[&str], linux: Run) {
    let writ = on_writ(name, exe, args);
    assert!(!linux.stdout.is_empty(), "{name} printed nothing on Linux");
    assert_eq!(
        writ.stdout, linux.stdout,
        "{name}: Writ's output (left) differs from Linux's (right)"
    );
    assert_eq!(
        writ.status, linux.status,
        "{name}: exit status on Writ vs Linux"
    );
}

#[test]
fn startup() {
    // No shell in the initramfs yet: the command line is split on spaces.
    contract("startup", &["one", "two", "3"]);
}

#[test]
fn memory() {
    contract("memory", &[]);
}

#[test]
fn badargs() {
    contract("badargs", &[]);
}

#[test]
fn fds() {
    contract("fds", &[]);
}

#[test]
fn procs() {
    contract("procs", &[]);
}

#[test]
fn signals() {
    contract("signals", &[]);
}

#[test]
fn chroot() {
    contract("chroot", &[]);
}

#[test]
fn priority() {
    contract("priority", &[]);
}

#[test]
fn pidfd() {
    contract("pidfd", &[]);
}

#[test]
fn tsignals() {
    contract("tsignals", &[]);
}

#[test]
fn stack() {
    contract("stack", &[]);
}

#[test]
fn threads() {
    contract("threads", &[]);
}

#[test]
fn mmapfile() {
    contract("mmapfile", &[]);
}

#[test]
fn timeids() {
    contract("timeids", &[]);
}

#[test]
fn pipes() {
    contract("pipes", &[]);
}

#[test]
fn exec() {
    contract("exec", &[]);
}

#[test]
fn rlimit() {
    contract("rlimit", &[]);
}

#[test]
fn files() {
    contract("files", &[]);
}

#[test]
fn paths() {
    contract("paths", &[]);
}

#[test]
fn jobs() {
    contract("jobs", &[]);
}

#[test]
fn timers() {
    contract("timers", &[]);
}

#[test]
fn dynload() {
    compare("dynload", &compile_dynamic("dynload", &["plug"]), &[]);
}

#[test]
fn task() {
    contract("task", &[]);
}

#[test]
fn altstack() {
    contract("altstack", &[]);
}

#[test]
fn locks() {
    contract("locks", &[]);
}

#[test]
fn poll() {
    contract("poll", &[]);
}

// eventfd, epoll, timerfd, signalfd (linux-personality/src/events)
#[test]
fn eventfd() {
    contract("eventfd", &[]);
}

#[test]
fn epoll() {
    contract("epoll", &[]);
}

#[test]
fn timerfd() {
    contract("timerfd", &[]);
}

#[test]
fn signalfd() {
    contract("signalfd", &[]);
}

#[test]
fn procfs() {
    contract("procfs", &[]);
}

// ptmx, devpts and the pty line discipline (linux-personality/src/pty.rs, fs/devpts.rs)
#[test]
fn pty() {
    contract("pty", &[]);
}

#[test]
fn net_tcp() {
    contract("net_tcp", &[]);
}

#[test]
fn net_unix() {
    contract("net_unix", &[]);
}

/// Runs the Linux side in a fresh network namespace (loopback up) whose
/// net.ipv4.ping_group_range lets every group make ping sockets, as every user may on
/// Writ (the ICMP_ECHO right); the host's own setting is left alone.
fn on_linux_netns(exe: &Path) -> Option<Run> {
    let ok = Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let script =
        "ip link set lo up && sysctl -qw net.ipv4.ping_group_range='0 2147483647' && exec \"$0\"";
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", script])
        .arg(exe)
        .stdin(Stdio::null())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    Some(Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status: out.status.code().unwrap_or(-1),
    })
}

#[test]
fn net_ping() {
    let exe = compile("net_ping");
    let Some(linux) = on_linux_netns(&exe) else {
        eprintln!("net_ping: skipped, no network namespace here (needs root for unshare -n)");
        return;
    };
    compare_with("net_ping", &exe, &[], linux);
}
