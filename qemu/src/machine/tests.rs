//! The harness against a stand-in for QEMU: a shell script that ignores QEMU's
//! arguments, talks on stdout/stdin like a serial line and exits with the contract's
//! statuses. This checks waiting, sending, logging and exit mapping without a kernel.

use super::*;
use std::os::unix::fs::PermissionsExt;

/// Echoes each input line as `got: LINE` (with CRLF, like a real UART); `quit` powers
/// off with status 33 after a `writ: poweroff status=5` line; end of input fails (35).
const FAKE_QEMU: &str = r#"#!/bin/sh
printf 'Writ 0.1.0 (x86_64) \342\200\224 a capability kernel\r\n'
echo "qemu-stderr-note" >&2
while read -r line; do
  printf 'got: %s\r\n' "$line"
  if [ "$line" = quit ]; then echo "writ: poweroff status=5"; exit 33; fi
  if [ "$line" = hang ]; then exec sleep 30; fi
done
exit 35
"#;

fn fake(name: &str) -> (QemuConfig, MachineOptions) {
    let dir = std::env::temp_dir().join(format!("writ-fake-qemu-{}-{name}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let qemu = dir.join("qemu");
    fs::write(&qemu, FAKE_QEMU).unwrap();
    fs::set_permissions(&qemu, fs::Permissions::from_mode(0o755)).unwrap();
    let mut config = QemuConfig::new(KernelKind::Writ, qemu.clone());
    config.qemu = qemu.to_str().unwrap().to_string();
    let options = MachineOptions {
        log: Some(dir.join("serial.log")),
        echo: false,
        input: Input::Piped,
    };
    (config, options)
}

const T: Duration = Duration::from_secs(20);

#[test]
fn send_wait_and_exit_status() {
    let (config, options) = fake("send");
    let mut m = Machine::start_with(&config, &options).unwrap();
    m.wait_for(crate::BANNER, T).unwrap();
    m.send("hello world\n").unwrap();
    let got = m.wait_for(r"got: (\w+) (\w+)$", T);
    // `$` must match at the end of a line: carriage returns are dropped.
    let got = got.unwrap();
    assert_eq!(got.text, "got: hello world");
    assert_eq!(
        (got.group(1), got.group(2), got.group(3)),
        (Some("hello"), Some("world"), None)
    );
    m.send("quit\n").unwrap();
    assert_eq!(m.wait_exit(T).unwrap(), Outcome::PowerOff { status: 5 });
    let log = fs::read_to_string(options.log.as_ref().unwrap()).unwrap();
    assert!(
        log.starts_with("Writ 0.1.0 (x86_64) — a capability kernel\ngot: hello world\n"),
        "{log:?}"
    );
    assert!(m
        .tail(TAIL_LINES)
        .contains("--- QEMU stderr ---\nqemu-stderr-note"));
}

#[test]
fn matches_are_consumed_in_order() {
    let (config, options) = fake("order");
    let mut m = Machine::start_with(&config, &options).unwrap();
    m.send("a\nb\na\n").unwrap();
    assert_eq!(m.wait_for("got: [ab]", T).unwrap().text, "got: a");
    assert_eq!(m.wait_for("got: [ab]", T).unwrap().text, "got: b");
    assert_eq!(m.wait_for("got: [ab]", T).unwrap().text, "got: a");
    let e = m
        .wait_for("got: [ab]", Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(e, Error::WaitTimeout { .. }), "{e}");
}

#[test]
fn end_of_input_is_a_kernel_failure_and_ends_waits() {
    let (config, options) = fake("eof");
    let mut m = Machine::start_with(&config, &options).unwrap();
    m.wait_for("capability kernel", T).unwrap();
    m.stdin = None; // closes QEMU's input: the fake exits 35
    let e = m.wait_for("never", T).unwrap_err();
    match &e {
        Error::ExitedBeforeMatch { status, tail, .. } => {
            assert_eq!(*status, Some(35));
            assert!(tail.contains("capability kernel"), "{tail}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(m.wait_exit(T).unwrap(), Outcome::KernelFailure);
    let e = m
        .expect_exit(Outcome::PowerOff { status: 0 }, T)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unexpected end of the run: kernel failure"),
        "{e}"
    );
}

#[test]
fn a_hung_machine_is_stopped_on_exit_timeout() {
    let (config, options) = fake("hang");
    let mut m = Machine::start_with(&config, &options).unwrap();
    m.send("hang\n").unwrap();
    m.wait_for("got: hang", T).unwrap();
    let started = Instant::now();
    let e = m.wait_exit(Duration::from_millis(200)).unwrap_err();
    assert!(matches!(e, Error::ExitTimeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "terminate took {:?}",
        started.elapsed()
    );
    assert!(m.child.try_wait().unwrap().is_some(), "QEMU is gone");
}

#[test]
fn bad_patterns_and_missing_qemu_are_errors() {
    let (mut config, options) = fake("errors");
    let mut m = Machine::start_with(&config, &options).unwrap();
    assert!(matches!(
        m.wait_for("(unclosed", T),
        Err(Error::BadPattern { .. })
    ));
    config.qemu = "/nonexistent/qemu-system-x86_64".into();
    assert!(matches!(
        Machine::start_with(&config, &options),
        Err(Error::QemuNotInstalled { .. })
    ));
}

#[test]
fn test_names_become_log_file_names() {
    let o = MachineOptions::for_test("boot/with spaces::x");
    assert_eq!(
        o.log.unwrap().file_name().unwrap(),
        "boot_with_spaces__x.log"
    );
}
