//! The capability debug console on a network boot (the tap test network of
//! `writ_qemu::testnet`): sockets are endpoint capabilities *made* by the NetStack
//! capability of the process that opened them, so the console shows each under its
//! NetStack parent, traces the Create invocation with its rights check, and a revoke
//! of a NetStack capability takes away exactly the endpoints made through it.
//!
//! Needs root (network namespaces), dnsmasq and busybox (scripts/setup.sh).

use std::path::PathBuf;
use std::time::Duration;

use writ_qemu::testnet::TestNet;
use writ_qemu::{DebugConsole, Machine};

const T: Duration = Duration::from_secs(120);
const C: Duration = Duration::from_secs(20);

fn socket_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("writ-{name}-{}.sock", std::process::id()))
}

/// Alpine on the test network with the console on a socket, eth0 configured by
/// udhcpc.
fn boot_net(name: &str) -> (Machine, DebugConsole, TestNet) {
    let net = TestNet::start().unwrap();
    let sock = socket_path(name);
    let _ = std::fs::remove_file(&sock);
    let cfg = writ_qemu::rootfs::writ_alpine("log=error debug_console=on")
        .unwrap()
        .console_socket(sock.clone());
    let mut m = Machine::start(name, &net.qemu_config(cfg).unwrap()).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    let con = DebugConsole::connect(name, &sock, T).unwrap();
    let (out, st) = sh(&mut m, "udhcpc -i eth0 -q -n -t 5 2>&1", "DHCP");
    assert_eq!(st, 0, "udhcpc failed:\n{out}");
    (m, con, net)
}

/// Runs `cmd` in the shell and waits for the line `tag=<status>`; returns the output
/// between the command's echo and that line.
fn sh(m: &mut Machine, cmd: &str, tag: &str) -> (String, i32) {
    m.send(&format!("{cmd}; echo {tag}=$?\r")).unwrap();
    let found = m
        .wait_for(&format!(r"(?s)\n(.*?){tag}=(\d+)\r?\n"), T)
        .unwrap();
    let out = found.group(1).unwrap_or_default().to_string();
    (out, found.group(2).unwrap().parse().unwrap())
}

/// `ps` rows as (pid, uid, state, command).
fn ps(con: &mut DebugConsole) -> Vec<(u32, String, String, String)> {
    let out = con.command("ps", C).unwrap();
    out.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let pid = w.first()?.parse().ok()?;
            (w.len() >= 6).then(|| (pid, w[4].to_string(), w[3].to_string(), w[5].to_string()))
        })
        .collect()
}

/// The newest live process running `comm` (root's or not, if `root` is given).
fn pid_of(con: &mut DebugConsole, comm: &str, root: Option<bool>) -> u32 {
    for _ in 0..50 {
        let found = ps(con)
            .into_iter()
            .filter(|(_, u, st, c)| {
                c == comm && st != "zombie" && root.is_none_or(|r| r == (u == "0"))
            })
            .map(|(p, ..)| p)
            .max();
        if let Some(p) = found {
            return p;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("no live '{comm}' (root {root:?}) in ps:\n{:?}", ps(con));
}

/// The line of `caps PID` for a slot (`fd:3`, `auth:1`).
fn caps_line(caps: &str, slot: &str) -> Option<String> {
    caps.lines()
        .find(|l| l.split_whitespace().next().is_some_and(|s| s == slot))
        .map(str::to_string)
}

#[test]
fn endpoint_caps_cdt_trace_and_revoke_on_the_network() {
    let (mut m, mut con, _net) = boot_net("debugcon_net");

    // A TCP connection held open: nc to the test host's HTTP server, its stdin a pipe
    // that stays open.
    m.send("sleep 300 | nc 192.168.77.1 80 >/dev/null &\r")
        .unwrap();
    let nc = pid_of(&mut con, "nc", None);
    let mut caps = String::new();
    for _ in 0..50 {
        caps = con.command(&format!("caps {nc}"), C).unwrap();
        if caps.contains(" tcp ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The endpoint's capability sits in a descriptor slot, made by nc's NetStack cap,
    // and that cap is a copy of its parent shell's.
    let tcp = caps
        .lines()
        .find(|l| l.contains(" tcp "))
        .unwrap_or_else(|| panic!("no tcp endpoint cap in:\n{caps}"));
    assert!(
        tcp.contains(&format!("{nc}:auth:1 (made)")),
        "the endpoint's CDT parent is not nc's NetStack cap:\n{caps}"
    );
    let ns = caps_line(&caps, "auth:1").unwrap_or_else(|| panic!("no auth:1 in:\n{caps}"));
    // Root's: every right (`+*`), a copy of its shell's cap (fork).
    assert!(ns.contains("netstack") && ns.contains("+*"), "{ns}");
    assert!(ns.trim_end().ends_with(":auth:1"), "{ns}");
    // socks: the connection, held by nc's fd 3, made by its NetStack cap.
    let socks = con.command("socks", C).unwrap();
    let conn = socks
        .lines()
        .find(|l| l.contains("192.168.77.1:80"))
        .unwrap_or_else(|| panic!("{socks}"));
    assert!(conn.contains("ESTABLISHED"), "{conn}");
    assert!(
        conn.contains(&format!("{nc}:fd:3 made by {nc}:auth:1")),
        "{conn}"
    );
    m.send("kill %1\r").unwrap();

    // A non-root user's shell: su drops root, and its NetStack cap is replaced by one
    // derived from init's without RAW/PACKET/BIND_PRIVILEGED/CONFIGURE.
    sh(&mut m, "adduser -D walker", "ADD");
    m.send("su walker -c 'sleep 300; true' &\r").unwrap();
    let walker = pid_of(&mut con, "sh", Some(false));
    let cdt = con.command("cdt 1 auth:1", C).unwrap();
    let line = cdt
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{walker}:auth:1 ")))
        .unwrap_or_else(|| panic!("walker's sh {walker} not under init's NetStack cap:\n{cdt}"));
    assert!(
        line.contains("ICMP_ECHO") && !line.contains("RAW"),
        "{line}"
    );
    let wcaps = con.command(&format!("caps {walker}"), C).unwrap();
    let wns = caps_line(&wcaps, "auth:1").unwrap();
    assert!(!wns.contains("RAW") && !wns.contains("CONFIGURE"), "{wns}");

    // trace of `ping -c 1` run by that user: the raw socket's Create fails its rights
    // check, the ping socket's passes.
    let shell = pid_of(&mut con, "sh", Some(true));
    let on = con.command(&format!("trace {shell} on"), C).unwrap();
    assert!(on.contains("trace on"), "{on}");
    let (out, st) = sh(&mut m, "su walker -c 'ping -c 1 192.168.77.1'", "PING");
    assert_eq!(st, 0, "{out}");
    let raw = con
        .wait_for(
            r"trace [\d.]+ pid \d+ socket\(41\) cptr 0x1000000000000001 netstack_\d+ invoke CreateRaw needs RAW has RWGD\+TCP_CONNECT\+TCP_LISTEN\+UDP\+ICMP_ECHO -> InsufficientRights missing RAW",
            C,
        )
        .unwrap();
    assert!(!raw.is_empty());
    let icmp = con
        .wait_for(
            r"trace [\d.]+ pid \d+ socket\(41\) cptr 0x1000000000000001 netstack_\d+ invoke CreateIcmp needs ICMP_ECHO has RWGD\+TCP_CONNECT\+TCP_LISTEN\+UDP\+ICMP_ECHO -> ok",
            C,
        )
        .unwrap();
    assert!(!icmp.is_empty());
    con.command(&format!("trace {shell} off"), C).unwrap();
    con.skip_all();

    // revoke of wget's NetStack cap while it is downloading: wget's socket goes (its
    // next call on it fails), the shell goes on, and the capability system is sound.
    // wget's output is held up by a reader that sleeps first, so it is mid-transfer.
    m.send(
        "(wget -O - http://192.168.77.1/32m.bin 2>/tmp/wget.err; echo WGET=$? >/tmp/wget.st) | (sleep 4; cat >/dev/null) &\r",
    )
    .unwrap();
    let wget = pid_of(&mut con, "wget", None);
    std::thread::sleep(Duration::from_millis(500));
    let wcaps = con.command(&format!("caps {wget}"), C).unwrap();
    assert!(
        wcaps.contains(" tcp "),
        "wget has no connection yet:\n{wcaps}"
    );
    let rev = con.command(&format!("revoke {wget} auth:1"), C).unwrap();
    assert!(
        rev.contains("revoked") && rev.contains("tcp"),
        "revoke did not report the TCP endpoint:\n{rev}"
    );
    let check = con.command("check", C).unwrap();
    assert!(check.contains("no violations"), "{check}");
    let (wout, _) = sh(
        &mut m,
        "while [ ! -s /tmp/wget.st ]; do sleep 0.2; done; cat /tmp/wget.st /tmp/wget.err",
        "WAITED",
    );
    assert!(wout.contains("WGET=1"), "wget did not fail:\n{wout}");
    // The shell survives and its own network authority is intact.
    let (out, st) = sh(&mut m, "ping -c 1 192.168.77.1", "ALIVE");
    assert_eq!(st, 0, "{out}");
    let check = con.command("check", C).unwrap();
    assert!(check.contains("no violations"), "{check}");
    println!("revoke output:\n{rev}\nwget said:\n{wout}");
}
