//! Alpine's network tools on Writ over loopback (no network device needed): the
//! interface ioctls (ifconfig) and NETLINK_ROUTE (ip), the NetStack rights a process
//! keeps when it leaves root (its ifconfig is refused with EPERM, its ping uses a ping
//! socket), and TCP through busybox nc and wget.

use std::time::Duration;

use writ_qemu::Machine;

const T: Duration = Duration::from_secs(60);

fn alpine(name: &str) -> Machine {
    Machine::start(name, &writ_qemu::rootfs::writ_alpine("log=error").unwrap()).unwrap()
}

#[test]
fn loopback_tools_and_rights() {
    let mut m = alpine("net_loopback");
    m.wait_for(r"~# ", T).unwrap();
    m.send("ifconfig lo\r").unwrap();
    m.wait_for(r"inet addr:127\.0\.0\.1  Mask:255\.0\.0\.0", T)
        .unwrap();
    m.wait_for(r"UP LOOPBACK RUNNING  MTU:65536", T).unwrap();
    m.send("ip addr; ip link; echo ip=$?\r").unwrap();
    m.wait_for(r"inet 127\.0\.0\.1/8 scope host lo", T).unwrap();
    m.wait_for(r"<LOOPBACK,UP,LOWER_UP> mtu 65536", T).unwrap();
    m.wait_for(r"ip=0", T).unwrap();
    // A user holds a NetStack cap without CONFIGURE and RAW.
    m.send("su nobody -s /bin/sh -c 'ifconfig lo down'; echo rc=$?\r")
        .unwrap();
    m.wait_for(r"Operation not permitted", T).unwrap();
    m.wait_for(r"rc=1", T).unwrap();
    m.send("su nobody -s /bin/sh -c 'ip route add default via 10.0.0.1'; echo rc=$?\r")
        .unwrap();
    m.wait_for(r"RTNETLINK answers: Operation not permitted", T)
        .unwrap();
    m.send("ping -c 1 127.0.0.1\r").unwrap();
    m.wait_for(r"seq=0 ttl=64", T).unwrap();
    m.wait_for(r"1 packets received, 0% packet loss", T)
        .unwrap();
    // busybox prints ttl=42 for replies on a ping socket (it has no IP header to read).
    m.send("su nobody -s /bin/sh -c 'ping -c 1 127.0.0.1'\r")
        .unwrap();
    m.wait_for(r"seq=0 ttl=42", T).unwrap();
    m.wait_for(r"1 packets received, 0% packet loss", T)
        .unwrap();
    m.terminate(Duration::from_secs(1));
}

#[test]
fn tcp_through_nc_and_wget() {
    let mut m = alpine("net_tcp");
    m.wait_for(r"~# ", T).unwrap();
    // The lines sent are computed, so the typed command's echo cannot match them.
    m.send("(echo $((40+2))-srv | nc -l -p 9000 > /tmp/got &); sleep 1; echo $((40+3))-cli | nc 127.0.0.1 9000; sleep 1; cat /tmp/got\r")
        .unwrap();
    m.wait_for(r"42-srv", T).unwrap();
    m.wait_for(r"43-cli", T).unwrap();
    m.send("(printf 'HTTP/1.0 200 OK\\r\\nContent-Length: 6\\r\\n\\r\\nhello\\n' | nc -l -p 8080 >/dev/null &); sleep 1; wget -q -O - http://127.0.0.1:8080/x; echo wget=$?\r")
        .unwrap();
    m.wait_for(r"hello\r?\nwget=0", T).unwrap();
    // A closed port is refused at once, not a hang.
    m.send("wget -q -O - http://127.0.0.1:9/; echo wget=$?\r")
        .unwrap();
    m.wait_for(r"Connection refused", T).unwrap();
    m.wait_for(r"wget=1", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

/// The kernel's revocation hook (`writ.net_revoke=PID:MS`) revokes and deletes a
/// running process's NetStack capability: the endpoint capabilities made through it
/// go with it (their descriptors are closed: EBADF, POLLNVAL, as for any closed fd;
/// a call blocked on one when it goes fails with ENETDOWN — see debugcon.rs), it
/// can make no new Internet socket, and the capability system's check passes after.
#[test]
fn revoking_a_running_process_netstack_cap() {
    use std::process::{Command, Stdio};
    let dir = writ_qemu::paths::workspace_root().join("target/net_revoke");
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/net_revoke.c");
    let st = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("net_revoke"))
        .arg(&src)
        .status()
        .expect("musl-gcc (scripts/setup.sh installs musl-tools)");
    assert!(st.success());
    let out = Command::new(env!("CARGO_BIN_EXE_writ-run"))
        .arg("--overlay")
        .arg(&dir)
        .args([
            "--exec",
            "/net_revoke",
            "--append",
            "log=error writ.net_revoke=1:1500",
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(
        text.contains("pid 1 connected: yes, send before: 1"),
        "{text}"
    );
    assert!(text.contains("endpoints killed, caps check ok"), "{text}");
    assert!(
        text.contains("send after revoke: -1 Bad file descriptor"),
        "{text}"
    );
    assert!(text.contains("poll revents: 0x20"), "{text}");
    assert!(
        text.contains("new UDP socket: Operation not permitted"),
        "{text}"
    );
    assert!(text.contains("socketpair: OK"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
}

/// Hostile arguments to the socket calls never bring the kernel down.
#[test]
fn random_socket_calls_never_bring_the_kernel_down() {
    use std::process::{Command, Stdio};
    let dir = writ_qemu::paths::workspace_root().join("target/sockfuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/sockfuzz.c");
    let st = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("sockfuzz"))
        .arg(&src)
        .status()
        .expect("musl-gcc (scripts/setup.sh installs musl-tools)");
    assert!(st.success());
    for seed in ["1", "7"] {
        let out = Command::new(env!("CARGO_BIN_EXE_writ-run"))
            .arg("--overlay")
            .arg(&dir)
            .args([
                "--exec",
                &format!("/sockfuzz {seed}"),
                "--append",
                "log=error",
            ])
            .args(["--timeout", "240"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        assert!(!text.contains("KERNEL PANIC"), "{text}");
        assert!(text.contains("survived 30000 socket calls"), "{text}");
        assert_eq!(out.status.code(), Some(0), "{text}");
    }
}
