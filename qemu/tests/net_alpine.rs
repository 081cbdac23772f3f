//! Alpine's own network tools on Writ, over the test network (`writ_qemu::testnet`: a
//! namespace of its own with the test host at 192.168.77.1, dnsmasq and an HTTP server).
//! Every socket these programs open is an endpoint capability made by invoking the
//! NetStack capability their process holds; a non-root user's shell holds one without
//! RAW, so `ping` falls back to an ICMP (ping) socket, as on Linux.
//!
//! Needs root (network namespaces), dnsmasq and busybox (scripts/setup.sh).

use std::process::Stdio;
use std::time::Duration;

use writ_qemu::testnet::{self, TestNet};
use writ_qemu::Machine;

const T: Duration = Duration::from_secs(120);

fn alpine_on(net: &TestNet, name: &str) -> Machine {
    let cfg = writ_qemu::rootfs::writ_alpine("log=error").unwrap();
    let mut m = Machine::start(name, &net.qemu_config(cfg).unwrap()).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    m
}

/// Runs `cmd` in the shell and waits for the line `tag=<status>`; returns the output
/// between the command's echo and that line.
fn sh(m: &mut Machine, cmd: &str, tag: &str) -> (String, i32) {
    m.send(&format!("{cmd}; echo {tag}=$?\r")).unwrap();
    // The echo of the command line itself ends with "{tag}=$?", which the pattern
    // (digits after '=') does not match.
    let found = m
        .wait_for(&format!(r"(?s)\n(.*?){tag}=(\d+)\r?\n"), T)
        .unwrap();
    let out = found.group(1).unwrap_or_default().to_string();
    let status = found.group(2).unwrap().parse().unwrap();
    (out, status)
}

#[test]
fn dhcp_dns_ping_and_http_with_alpine_tools() {
    let net = TestNet::start().unwrap();
    let mut m = alpine_on(&net, "net_alpine_tools");

    // DHCP from dnsmasq: address, default route and resolv.conf.
    let (out, st) = sh(&mut m, "udhcpc -i eth0 -q -n -t 5 2>&1", "DHCP");
    assert_eq!(st, 0, "udhcpc failed:\n{out}");
    let (out, _) = sh(&mut m, "ifconfig eth0", "IFC");
    assert!(out.contains("inet addr:192.168.77."), "{out}");
    let (out, _) = sh(&mut m, "ip addr show eth0", "IPA");
    assert!(out.contains("inet 192.168.77."), "{out}");
    let (out, _) = sh(&mut m, "ip route", "IPR");
    assert!(out.contains("default via 192.168.77.1"), "{out}");
    let (out, _) = sh(&mut m, "cat /etc/resolv.conf", "RES");
    assert!(out.contains("192.168.77.1"), "{out}");

    // DNS through resolv.conf, then ping by name.
    let (out, st) = sh(&mut m, "nslookup host.writ.test", "NSL");
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("192.168.77.1"), "{out}");
    let (out, st) = sh(&mut m, "ping -c 3 host.writ.test", "PNG");
    assert_eq!(st, 0, "{out}");
    assert!(
        out.contains("3 packets transmitted, 3 packets received, 0% packet loss"),
        "{out}"
    );

    // ping as root and as a user without root: the ICMP socket path.
    let (out, st) = sh(&mut m, "ping -c 3 192.168.77.1", "PR");
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("0% packet loss"), "{out}");
    sh(&mut m, "adduser -D walker", "ADD");
    let (out, st) = sh(&mut m, "su walker -c 'id -u; ping -c 3 192.168.77.1'", "PU");
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("0% packet loss"), "{out}");
    // ...but may not change the interface.
    let (out, st) = sh(&mut m, "su walker -c 'ifconfig eth0 down' 2>&1", "IFD");
    assert_ne!(st, 0, "{out}");
    assert!(
        out.contains("Operation not permitted") || out.contains("Permission denied"),
        "{out}"
    );

    // wget and curl fetch the 32 MiB file intact.
    let sum = testnet::big_file_sha256();
    let (out, st) = sh(
        &mut m,
        "wget -q -O /tmp/w.bin http://192.168.77.1/32m.bin && sha256sum /tmp/w.bin; rm -f /tmp/w.bin",
        "WG",
    );
    assert_eq!(st, 0, "{out}");
    assert!(out.contains(&sum), "{out}");
    let (out, st) = sh(
        &mut m,
        "curl -s -o /tmp/c.bin http://host.writ.test/32m.bin && sha256sum /tmp/c.bin; rm -f /tmp/c.bin",
        "CU",
    );
    assert_eq!(st, 0, "{out}");
    assert!(out.contains(&sum), "{out}");

    // A closed port is refused at once, not a hang.
    let t0 = std::time::Instant::now();
    let (out, st) = sh(&mut m, "curl -sS http://192.168.77.1:9/ 2>&1", "REF");
    // curl 8 says "Could not connect to server" for ECONNREFUSED (its -v shows the
    // errno); what matters is exit code 7 at once, not a timeout.
    assert_eq!(st, 7, "{out}");
    assert!(
        out.contains("Could not connect") || out.contains("Connection refused"),
        "{out}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t0.elapsed()
    );

    // The guest's address, as the last line of the command's output.
    let guest = sh(
        &mut m,
        "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1",
        "GIP",
    )
    .0
    .lines()
    .last()
    .unwrap_or_default()
    .trim()
    .to_string();
    assert!(guest.starts_with("192.168.77."), "guest address {guest:?}");
    // A server in the guest answers curl on the test host. (Alpine's busybox has no
    // httpd applet: that is busybox-extras, not in the image. nc serves one response.)
    m.send(
        "printf 'HTTP/1.0 200 OK\\r\\nContent-Length: 15\\r\\n\\r\\nserved by writ\\n' | nc -l -p 8080 &\r",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let out = net
        .command("curl")
        .args(["-sS", "--max-time", "20", &format!("http://{guest}:8080/")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "served by writ\n",
        "curl http://{guest}:8080/ from the host: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // nc both ways, and a UDP echo through the test host's socat-free python.
    let listener = net
        .command("busybox")
        .args(["nc", "-l", "-p", "7001"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    sh(&mut m, "echo guest to host | nc 192.168.77.1 7001", "NC1");
    let got = listener.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), "guest to host\n");
    // Its stdin is a pipe: a background job reading the terminal would be stopped by
    // SIGTTIN, as on Linux.
    m.send("sleep 30 | nc -l -p 7002 > /tmp/from-host &\r")
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // The host's side in python: busybox nc does not half-close its output.
    let script = format!(
        "import socket; s = socket.create_connection(('{guest}', 7002), timeout=20); \
         s.sendall(b'host to guest\\n'); s.shutdown(socket.SHUT_WR); s.close()"
    );
    let st = net
        .command("python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "python client: {st:?}");
    std::thread::sleep(Duration::from_millis(500));
    let (out, _) = sh(&mut m, "cat /tmp/from-host", "NC2");
    assert!(out.contains("host to guest"), "{out}");

    // A UDP echo: the test host echoes each datagram back to its sender.
    let echo = "import socket\n\
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                s.bind(('192.168.77.1', 7007))\n\
                s.settimeout(30)\n\
                for _ in range(3):\n    d, a = s.recvfrom(2048)\n    s.sendto(d, a)\n";
    let mut server = net
        .command("python3")
        .args(["-c", echo])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (out, st) = sh(
        &mut m,
        "echo udp-ping-$((6*7)) | nc -u -w 2 192.168.77.1 7007",
        "UDP",
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.contains("udp-ping-42"), "status {st}: {out}");

    // `ip link set eth0 down` takes the link away: no route, no traffic; up brings
    // the address back but not the default route (as Linux), so udhcpc's route must
    // be added again.
    let (out, _) = sh(&mut m, "ip link set eth0 down; ip link show eth0", "DOWN");
    assert!(!out.contains(",UP"), "{out}");
    let (out, st) = sh(&mut m, "ping -c 1 -W 1 192.168.77.1 2>&1", "PD");
    assert_ne!(st, 0, "ping through a downed link: {out}");
    let (out, _) = sh(&mut m, "ip route", "RD");
    assert!(!out.contains("default"), "{out}");
    let (out, st) = sh(
        &mut m,
        "ip link set eth0 up; ip route add default via 192.168.77.1; ping -c 1 192.168.77.1",
        "UP",
    );
    assert_eq!(st, 0, "{out}");

    m.terminate(Duration::from_secs(1));
}
