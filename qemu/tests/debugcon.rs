//! The capability debug console (COM2 on a unix socket) driven while Alpine runs on
//! COM1: a person at the console sees the shell's authority, changes it, and the
//! programs under test notice exactly that and nothing else.
//!
//! Each test boots with [`boot`], which returns the machine (COM1, the Linux shell) and
//! the console. Network acceptance (endpoint caps, ping trace, wget revoke) joins
//! these after the network merge: boot with `.net(...)` in [`boot_with`] and add a
//! test beside the others.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use writ_qemu::{DebugConsole, Machine, QemuConfig};

const T: Duration = Duration::from_secs(60);
const C: Duration = Duration::from_secs(20);

fn socket_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("writ-{name}-{}.sock", std::process::id()))
}

fn boot(name: &str) -> (Machine, DebugConsole) {
    boot_with(name, |c| c)
}

/// Boots Alpine with the console on a socket, waits for the shell's prompt on COM1
/// and connects to the console.
fn boot_with(name: &str, tweak: impl FnOnce(QemuConfig) -> QemuConfig) -> (Machine, DebugConsole) {
    let sock = socket_path(name);
    let _ = std::fs::remove_file(&sock);
    let cfg = writ_qemu::rootfs::writ_alpine("log=error debug_console=on")
        .unwrap()
        .console_socket(sock.clone());
    let mut m = Machine::start(name, &tweak(cfg)).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    let con = DebugConsole::connect(name, &sock, T).unwrap();
    (m, con)
}

/// The pid of the newest live process running `comm` in the console's `ps`.
fn pid_of(con: &mut DebugConsole, comm: &str) -> u32 {
    live_pid(con, comm).unwrap_or_else(|ps| panic!("no live '{comm}' in ps:\n{ps}"))
}

fn live_pid(con: &mut DebugConsole, comm: &str) -> Result<u32, String> {
    let ps = con.command("ps", C).unwrap();
    ps.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 6 && w[5] == comm && w[3] != "zombie").then(|| w[0].parse().ok())?
        })
        .max()
        .ok_or(ps)
}

fn one_error_line(out: &str) {
    assert!(
        out.starts_with("error: ") && out.trim_end().lines().count() == 1,
        "expected a one-line error, got:\n{out}"
    );
}

#[test]
fn ps_caps_check_trace_and_bad_input() {
    let (mut m, mut con) = boot("debugcon_views");
    let ps = con.command("ps", C).unwrap();
    assert!(ps.contains(" sh "), "{ps}");
    assert!(
        ps.contains("[kernel]") && ps.contains("debugconsole:1"),
        "{ps}"
    );
    let sh = pid_of(&mut con, "sh");

    // The shell's CSpace: fds 0, 1, 2 on the console, the authority CNode's Budget.
    let caps = con.command(&format!("caps {sh}"), C).unwrap();
    for want in ["fd:0 ", "fd:1 ", "fd:2 ", "auth:0 ", "root:0 ", "root:1 "] {
        assert!(caps.contains(want), "no {want} in:\n{caps}");
    }
    assert!(
        caps.contains(" file ") && caps.contains(" budget "),
        "{caps}"
    );
    let cap = con.command(&format!("cap {sh} 1"), C).unwrap();
    assert!(cap.starts_with(&format!("{sh}:fd:1: file_")), "{cap}");
    let cdt = con.command(&format!("cdt {sh} auth:0"), C).unwrap();
    assert!(cdt.contains("budget_"), "{cdt}");
    // Derivation across processes: the shell's Budget came from init's.
    let cdt = con.command("cdt 1 auth:0", C).unwrap();
    assert!(
        cdt.starts_with("1:auth:0 budget_") && cdt.contains(&format!("\n  {sh}:auth:0 budget_")),
        "{cdt}"
    );
    // The tty file behind the shell's fd 0: its state and every holder.
    let oid = cap
        .split("file_")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    let obj = con.command(&format!("obj {oid}"), C).unwrap();
    assert!(obj.starts_with(&format!("file_{oid}: type file")), "{obj}");
    assert!(obj.contains("state: mode: 0o20"), "{obj}");
    for fd in 0..3 {
        assert!(obj.contains(&format!("{sh}:fd:{fd} ")), "{obj}");
    }

    let check = con.command("check", C).unwrap();
    assert!(check.contains("no violations"), "{check}");
    let objs = con.command("objs", C).unwrap();
    assert!(objs.contains("file") && objs.contains("budgets:"), "{objs}");

    // Bad input: one line each, and the console carries on.
    one_error_line(&con.command("frobnicate", C).unwrap());
    one_error_line(&con.command("caps 9999", C).unwrap());
    one_error_line(&con.command("caps sh", C).unwrap());
    one_error_line(&con.command(&format!("cap {sh} fd:zz"), C).unwrap());
    one_error_line(&con.command(&format!("cap {sh} fd:99999"), C).unwrap());
    one_error_line(&con.command(&format!("cap {sh} fd:7"), C).unwrap());
    one_error_line(&con.command("kill 9999 9", C).unwrap());
    one_error_line(&con.command(&format!("kill {sh} NOSUCH"), C).unwrap());
    one_error_line(&con.command("obj 123456789", C).unwrap());
    one_error_line(&con.command(&"x".repeat(400), C).unwrap());
    let help = con.command("help revoke", C).unwrap();
    assert!(help.contains("fd:N") && help.contains("auth:N"), "{help}");

    // trace: the shell's (and its children's) capability operations as they happen.
    let on = con.command(&format!("trace {sh} on"), C).unwrap();
    assert!(on.contains("trace on"), "{on}");
    m.send("cat /etc/hostname > /dev/null\r").unwrap();
    let line = con
        .wait_for(
            r"trace [\d.]+ pid \d+ (?:openat|open)\(\d+\) cptr 0x3 file_\d+ create -> ok",
            C,
        )
        .unwrap();
    assert!(line.contains("create"), "{line}");
    let off = con.command(&format!("trace {sh} off"), C).unwrap();
    assert!(off.contains("trace off"), "{off}");

    // kill: a sleep in the guest ends, the shell reports SIGKILL.
    m.send("sleep 100\r").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sleep = pid_of(&mut con, "sleep");
    let killed = con.command(&format!("kill {sleep} 9"), C).unwrap();
    assert!(killed.contains("it ended"), "{killed}");
    m.send("echo status $?\r").unwrap();
    m.wait_for(r"status 137", T).unwrap();
    let check = con.command("check", C).unwrap();
    assert!(check.contains("no violations"), "{check}");
    m.terminate(Duration::from_secs(1));
}

/// A pipe fd taken away under a running process: its next use fails (EBADF), the
/// process and the shell carry on, and the invariants hold.
#[test]
fn delete_and_revoke_pipe_fds() {
    let (mut m, mut con) = boot("debugcon_pipe");
    // fd 5 of the `sh -c` is a copy (a CDT child) of its fd 1, the pipe to cat.
    let script =
        "sh -c 'echo SUB=$$; sleep 4; echo data >&5 && echo WROTE5 || echo FAILED5' 5>&1 | cat";
    for (round, how) in [(1, "delete"), (2, "revoke")] {
        m.send(&format!("{script}\r")).unwrap();
        let pid: u32 = m
            .wait_for(r"SUB=(\d+)\n", T)
            .unwrap()
            .group(1)
            .unwrap()
            .parse()
            .unwrap();
        let caps = con.command(&format!("caps {pid}"), C).unwrap();
        assert!(caps.contains("fd:5 "), "round {round}: {caps}");
        let on = con.command(&format!("trace {pid} on"), C).unwrap();
        assert!(on.contains("trace on"), "{on}");
        let out = match how {
            "delete" => con.command(&format!("delete {pid} fd:5"), C).unwrap(),
            // Revoking fd 1 removes what was derived from it: fd 5 (fd 1 stays).
            _ => con.command(&format!("revoke {pid} fd:1"), C).unwrap(),
        };
        assert!(
            out.starts_with("deleted 1 cap") || out.contains(&format!("removed {pid}:fd:5")),
            "round {round}: {out}"
        );
        let caps = con.command(&format!("caps {pid}"), C).unwrap();
        assert!(!caps.contains("fd:5 "), "round {round}: {caps}");
        assert!(caps.contains("fd:1 "), "round {round}: {caps}");
        m.wait_for(r"FAILED5", T).unwrap();
        // The trace shows the failed use of the slot that was taken away.
        con.wait_for(
            &format!(r"trace [\d.]+ pid {pid} \w+\(\d+\) cptr 0x5 \(empty\) .* -> EBADF"),
            C,
        )
        .unwrap();
        m.wait_for(r"writ:~# ", T).unwrap();
        let check = con.command("check", C).unwrap();
        assert!(check.contains("no violations"), "round {round}: {check}");
    }
    m.send("echo still here\r").unwrap();
    m.wait_for(r"\nstill here", T).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();

    // Taking the shell's whole fd CNode: it can do nothing more and exits (no hang, no
    // panic), and the invariants hold. (init then starts another shell; that it does
    // not reach the console's foreground yet is a tty matter, not checked here.)
    let sh = pid_of(&mut con, "sh");
    let out = con.command(&format!("delete {sh} root:0"), C).unwrap();
    assert!(
        out.starts_with(&format!("deleted 1 cap {sh}:root:0 (cnode_")),
        "{out}"
    );
    m.send("\r").unwrap();
    let deadline = Instant::now() + T;
    loop {
        let ps = con.command("ps", C).unwrap();
        // Gone: a zombie, or already reaped by init (then not listed at all).
        let gone = !ps.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 6 && w[0] == sh.to_string() && w[3] != "zombie"
        });
        if gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "shell {sh} hangs without descriptors:\n{ps}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let check = con.command("check", C).unwrap();
    assert!(check.contains("no violations"), "{check}");
    m.terminate(Duration::from_secs(1));
}

/// `debug_console=off`: no DebugConsole capability, no console, even with COM2 there.
#[test]
fn debug_console_off_grants_nothing() {
    let rootfs = writ_qemu::rootfs::build().expect("make rootfs (needs the pinned Alpine wheel)");
    let sock = socket_path("debugcon_off");
    let cfg = QemuConfig::writ()
        .unwrap()
        .initrd(rootfs.path.clone())
        .memory("1G".parse().unwrap())
        .append("log=info debug_console=off")
        .console_socket(sock.clone());
    let mut m = Machine::start("debugcon_off", &cfg).unwrap();
    m.wait_for(r"debugcon: off", T).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    let err = DebugConsole::connect("debugcon_off", &sock, Duration::from_secs(5));
    assert!(err.is_err(), "a console answered with debug_console=off");
    m.terminate(Duration::from_secs(1));
}

/// The capDL dump is a function of what happened, not of when: two identical boots
/// print identical text, byte for byte.
#[test]
fn capdl_is_identical_across_identical_boots() {
    let mut dumps = Vec::new();
    for run in 0..2 {
        let (mut m, mut con) = boot(&format!("debugcon_capdl_{run}"));
        let dump = con.command("capdl", C).unwrap();
        assert!(
            dump.contains("objects {") && dump.contains("cdt {"),
            "{dump}"
        );
        let sh = pid_of(&mut con, "sh");
        let one = con.command(&format!("capdl {sh}"), C).unwrap();
        assert!(one.contains(&format!("{sh}:fd:0: file_")), "{one}");
        dumps.push((dump, one));
        m.terminate(Duration::from_secs(1));
    }
    assert_eq!(
        dumps[0].0, dumps[1].0,
        "whole-system capDL differs between boots"
    );
    assert_eq!(
        dumps[0].1, dumps[1].1,
        "the shell's capDL differs between boots"
    );
}

/// Seconds the guest takes for a shell loop, timed on COM1.
fn loop_secs(m: &mut Machine, tag: &str) -> f64 {
    let start = Instant::now();
    m.send(&format!(
        "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo loop-{tag}-$i\r"
    ))
    .unwrap();
    m.wait_for(&format!(r"loop-{tag}-100000"), Duration::from_secs(300))
        .unwrap();
    start.elapsed().as_secs_f64()
}

/// Input flooding the console while the guest works does not stall the guest, and the
/// console answers again afterwards.
#[test]
fn flooding_the_console_does_not_hang_the_guest() {
    let (mut m, mut con) = boot("debugcon_flood");
    let quiet = loop_secs(&mut m, "quiet");
    let sock = con_socket_clone(&con);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let flooder = std::thread::spawn(move || {
        use std::io::Write;
        let mut sock = sock;
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| {
                if i % 97 == 96 {
                    b'\r'
                } else {
                    b"psx caps 1 \x7f\x15"[(i % 13) as usize]
                }
            })
            .collect();
        let mut sent = 0usize;
        // 128 KiB: more than the console takes in the loop's time (it takes 64 bytes a
        // tick and leaves the rest in QEMU and the socket), so the flood lasts the loop.
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) && sent < 128 << 10 {
            if sock.write_all(&junk).is_err() {
                break;
            }
            sent += junk.len();
        }
        sent
    });
    let flooded = loop_secs(&mut m, "flooded");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = flooder.join().unwrap();
    let quiet2 = loop_secs(&mut m, "quiet2");
    eprintln!(
        "loop: {quiet:.2} s quiet, {flooded:.2} s while {} KiB flooded the console ({:.0}%), {quiet2:.2} s quiet again",
        sent / 1024,
        100.0 * flooded / quiet
    );
    assert!(
        flooded < quiet * 3.0 + 5.0,
        "guest slowed from {quiet:.2} s to {flooded:.2} s"
    );
    // The console works through the backlog (flow-controlled, a tick at a time) and
    // answers again.
    let start = Instant::now();
    con.send("\x15\rcheck\r").unwrap();
    con.wait_for(
        r"check: \d+ objects, no violations",
        Duration::from_secs(180),
    )
    .unwrap();
    eprintln!(
        "console answered {:.1} s after the flood",
        start.elapsed().as_secs_f64()
    );
    m.send("echo alive\r").unwrap();
    m.wait_for(r"alive", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

fn con_socket_clone(con: &DebugConsole) -> std::os::unix::net::UnixStream {
    con.socket().try_clone().unwrap()
}
