//! `writ-run` as a user meets it: its errors, its exit statuses, its options.
//! Runs that boot Writ need the kernel (`make kernel`); the `--kernel linux` run
//! fetches the pinned Alpine wheel into ~/.cache/writ on first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const WRIT_RUN: &str = env!("CARGO_BIN_EXE_writ-run");

fn writ_run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(WRIT_RUN);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("writ-run runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Any existing file stands in for a kernel where the run must fail before QEMU starts.
fn some_file() -> &'static str {
    WRIT_RUN
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-run-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn missing_initrd_is_a_clear_error() {
    let o = writ_run(
        &[
            "--kernel",
            some_file(),
            "--initrd",
            "/nonexistent/initrd.img",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        "writ-run: initrd not found: /nonexistent/initrd.img"
    );
}

#[test]
fn missing_overlay_and_kernel_are_clear_errors() {
    let o = writ_run(
        &["--kernel", some_file(), "--overlay", "/nonexistent/dir"],
        &[],
    );
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("overlay directory not found: /nonexistent/dir"),
        "{}",
        stderr(&o)
    );
    let o = writ_run(&["--kernel", "/nonexistent/vmlinux"], &[]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("kernel image not found: /nonexistent/vmlinux"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unbuilt_kernel_says_run_make_kernel() {
    let o = writ_run(&[], &[("WRIT_KERNEL", "/nonexistent/writ-kernel")]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("run `make kernel`"), "{}", stderr(&o));
}

#[test]
fn bad_options_are_clear_errors() {
    let o = writ_run(&["--frobnicate"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unexpected argument '--frobnicate'"),
        "{}",
        stderr(&o)
    );
    let o = writ_run(&["--memory", "lots"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad memory size 'lots'"),
        "{}",
        stderr(&o)
    );
    let o = writ_run(&["--net", "carrier-pigeon"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'carrier-pigeon'"),
        "{}",
        stderr(&o)
    );
    let o = writ_run(&["--timeout", "-3"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn qemu_not_installed_is_a_clear_error() {
    let o = writ_run(
        &["--kernel", some_file()],
        &[("WRIT_QEMU", "/nonexistent/qemu-system-x86_64")],
    );
    assert_eq!(o.status.code(), Some(127));
    assert!(stderr(&o).contains("QEMU not found"), "{}", stderr(&o));
}

#[test]
fn tap_networking_runs_qemu_in_the_test_namespace() {
    let o = writ_run(&["--kernel", some_file(), "--net", "tap", "--dry-run"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(line.starts_with("ip netns exec <writ-PID-N> "), "{line}");
    assert!(
        line.contains("-netdev tap,id=n0,ifname=wtap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,disable-legacy=on"),
        "{line}"
    );
}

#[test]
fn help_documents_options_and_the_exec_stub() {
    let o = writ_run(&["--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for opt in [
        "--initrd",
        "--overlay",
        "--exec",
        "--append",
        "--memory",
        "--timeout",
        "--kernel",
        "--net",
        "--log",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}");
    }
    assert!(help.contains("/etc/writ/exec"), "{help}");
    assert!(help.contains("124"), "exit statuses documented");
}

#[test]
fn options_map_to_the_qemu_command_line() {
    let o = writ_run(
        &[
            "--kernel",
            some_file(),
            "--memory",
            "4G",
            "--net",
            "user",
            "--append",
            "log=debug",
            "--dry-run",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(line.contains("-accel tcg -cpu max -m 4096M "), "{line}");
    assert!(
        line.contains("-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0"),
        "{line}"
    );
    assert!(
        line.contains("-device isa-debug-exit,iobase=0xf4,iosize=0x04"),
        "{line}"
    );
    assert!(line.trim_end().ends_with("-append log=debug"), "{line}");
    assert!(!line.contains("kvm"), "{line}");
}

#[test]
fn exec_passes_the_command_to_writ() {
    let o = writ_run(
        &[
            "--kernel",
            some_file(),
            "--exec",
            "echo hi",
            "--append",
            "poweroff",
            "--dry-run",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(line.contains("-initrd "), "{line}");
    assert!(
        line.trim_end()
            .ends_with("-append 'writ.exec=/etc/writ/exec poweroff'"),
        "{line}"
    );
}

#[test]
fn boots_writ_powers_off_and_keeps_a_log() {
    let log = scratch("log").join("serial.log");
    let o = writ_run(
        &[
            "--append",
            "poweroff",
            "--timeout",
            "60",
            "--log",
            log.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("Writ 0.1.0 (x86_64) — a capability kernel"),
        "{}",
        stdout(&o)
    );
    let kept = std::fs::read_to_string(&log).unwrap();
    assert!(kept.contains("boot: done in"), "{kept}");
    assert!(!kept.contains('\r'));
}

#[test]
fn kernel_failure_exits_1() {
    let o = writ_run(&["--append", "selftest=panic", "--timeout", "60"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("KERNEL PANIC at "));
    assert!(stderr(&o).contains("kernel failure"), "{}", stderr(&o));
}

#[test]
fn timeout_stops_qemu_with_124() {
    // Without poweroff the kernel idles after boot.
    let o = writ_run(&["--timeout", "3"], &[]);
    assert_eq!(o.status.code(), Some(124), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("boot: done in"), "{}", stdout(&o));
    assert!(stderr(&o).contains("timed out after 3 s"), "{}", stderr(&o));
}

#[test]
fn linux_runs_exec_with_an_overlay_and_returns_its_status() {
    let overlay = scratch("overlay");
    std::fs::create_dir_all(overlay.join("srv/data")).unwrap();
    std::fs::write(
        overlay.join("srv/data/greeting"),
        "hello from the overlay\n",
    )
    .unwrap();
    let o = writ_run(
        &[
            "--kernel",
            "linux",
            "--overlay",
            overlay.to_str().unwrap(),
            "--exec",
            "cat /srv/data/greeting; uname -s; exit 7",
            "--timeout",
            "120",
        ],
        &[],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(7), "{out}{}", stderr(&o));
    // Echo to stdout is the raw serial stream, with Linux's CRLF line ends.
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert!(lines.contains(&"hello from the overlay"), "{out}");
    assert!(lines.contains(&"Linux"), "{out}");
    assert!(out.contains("writ: poweroff status=7"), "{out}");
    assert!(Path::new(&overlay).exists());
}
