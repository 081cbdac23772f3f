//! The virtio-net driver on the test network (`writ_qemu::testnet`, what `writ-run
//! --net tap` starts): Writ's `selftest=net` pings the test host and fetches the 32 MiB
//! file over HTTP, and the sha256 it computes must be the file's; and the test host
//! throws malformed and hostile frames at a guest running `selftest=netserve`, which
//! must keep running, answer pings and keep its TCP echo service working.
//!
//! Needs root (network namespaces), dnsmasq and busybox (scripts/setup.sh), python3.
//! Every test removes its namespace; the last assertion of each checks that.

use std::io::Read;
use std::process::{Output, Stdio};
use std::time::Duration;

use writ_qemu::testnet::{self, TestNet};
use writ_qemu::{Machine, Outcome, QemuConfig};

const T: Duration = Duration::from_secs(120);

fn writ_on(net: &TestNet, append: &str) -> QemuConfig {
    let config = QemuConfig::writ()
        .unwrap()
        .memory("512M".parse().unwrap())
        .append(append);
    net.qemu_config(config).unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn selftest_pings_the_host_and_fetches_32_mib_intact() {
    let net = TestNet::start().unwrap();
    let name = net.name().to_string();
    let mut m = Machine::start("net_driver_selftest", &writ_on(&net, "selftest=net")).unwrap();
    let boot = m
        .wait_for(
            r"virtio-net: \S+ MAC (\S+) MTU (\d+) rx/tx queues (\d+)/(\d+)",
            T,
        )
        .unwrap();
    assert_eq!(boot.group(1), Some(testnet::GUEST_MAC));
    assert_eq!(boot.group(2), Some("1500"));
    for seq in 1..=5 {
        m.wait_for(
            &format!(r"64 bytes from 192\.168\.77\.1: icmp_seq={seq} time=[\d.]+ ms"),
            T,
        )
        .unwrap();
    }
    let get = m
        .wait_for(r"GET /32m\.bin size=(\d+) sha256=([0-9a-f]{64})", T)
        .unwrap();
    assert_eq!(get.group(1), Some(testnet::BIG_SIZE.to_string().as_str()));
    assert_eq!(get.group(2), Some(testnet::big_file_sha256().as_str()));
    m.wait_for(r"selftest net: throughput [\d.]+ MiB/s", T)
        .unwrap();
    m.expect_exit(Outcome::PowerOff { status: 0 }, T).unwrap();
    drop(net);
    assert!(
        !testnet::namespace_exists(&name),
        "namespace {name} left behind"
    );
}

/// Sends, from the test host's side of the TAP, every kind of bad frame: truncated at
/// every layer, wrong lengths and checksums, bad TCP options, ARP garbage, 10 000 SYNs
/// (spoofed sources and the real host), and oversized frames and datagrams.
const HOSTILE: &str = r#"
import os, random, socket, struct, sys, time
tap, guest_ip, host_ip = sys.argv[1], sys.argv[2], sys.argv[3]
gmac = bytes.fromhex(sys.argv[4].replace(':', ''))
hmac = bytes.fromhex(open(f'/sys/class/net/{tap}/address').read().strip().replace(':', ''))
rnd = random.Random(7)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((tap, 0))
sent = 0
def send(frame):
    global sent
    try:
        s.send(frame); sent += 1
    except OSError:
        pass
    # Paced, so the TAP's queue (1000 frames) does not overflow while QEMU catches up.
    if sent % 100 == 0:
        time.sleep(0.005)
def csum(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack(f'!{len(b)//2}H', b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
def ip4(a): return socket.inet_aton(a)
def eth(payload, etype=0x0800, dst=gmac): return dst + hmac + struct.pack('!H', etype) + payload
def iph(proto, payload_len, src=host_ip, dst=guest_ip, ihl=5, total=None, good=True, ttl=64, frag=0):
    total = 20 + payload_len if total is None else total
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, total & 0xffff, rnd.randrange(65536), frag, ttl, proto, 0, ip4(src), ip4(dst))
    c = csum(h) if good else 0x1234
    return h[:10] + struct.pack('!H', c) + h[12:]
def tcp(sport, dport, flags, src=host_ip, opts=b'', good=True, seq=None, doff=None, data=b''):
    doff = (20 + len(opts)) // 4 if doff is None else doff
    seq = rnd.randrange(1 << 32) if seq is None else seq
    h = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, doff << 4, flags, 65535, 0, 0) + opts + data
    pseudo = ip4(src) + ip4(guest_ip) + struct.pack('!BBH', 0, 6, len(h))
    c = csum(pseudo + h) if good else 0xbeef
    return h[:16] + struct.pack('!H', c) + h[18:]
def udp(sport, dport, data, good=True, length=None):
    length = 8 + len(data) if length is None else length
    h = struct.pack('!HHHH', sport, dport, length & 0xffff, 0) + data
    return h if good else h[:6] + b'\x12\x34' + h[8:]
def icmp(t, code, data, good=True):
    h = struct.pack('!BBHHH', t, code, 0, 1, 1) + data
    c = csum(h) if good else 0x4321
    return h[:2] + struct.pack('!H', c) + h[4:]

# Truncated at every layer.
full = eth(iph(6, 20) + tcp(40000, 7, 0x02))
for n in range(0, len(full)):
    send(full[:n])
ping = eth(iph(1, 40) + icmp(8, 0, b'x' * 32))
for n in range(14, len(ping)):
    send(ping[:n])
# Lying lengths and header fields.
for total in [0, 1, 19, 20, 21, 1500, 65535]:
    send(eth(iph(17, 12, total=total) + udp(1, 9, b'abcd')))
for ihl in [0, 1, 4, 6, 15]:
    send(eth(iph(17, 12, ihl=ihl) + udp(1, 9, b'abcd')))
for length in [0, 7, 9, 1000, 65535]:
    send(eth(iph(17, 12) + udp(1, 9, b'abcd', length=length)))
send(eth(bytes([0x60]) + b'\0' * 60))                     # IPv6 version in an IPv4 frame
send(eth(iph(17, 12, good=False) + udp(1, 9, b'abcd')))     # bad IP checksum
send(eth(iph(6, 20) + tcp(40001, 7, 0x02, good=False)))     # bad TCP checksum
send(eth(iph(17, 12) + udp(1, 9, b'abcd', good=False)))     # bad UDP checksum
send(eth(iph(1, 40) + icmp(8, 0, b'x' * 32, good=False)))   # bad ICMP checksum
for doff in [0, 1, 4, 15]:
    send(eth(iph(6, 20) + tcp(40002, 7, 0x02, doff=doff)))
for opts in [b'\x02\x00\x00\x00', b'\x02\x01\x00\x00', b'\x03\x00\x00\x00', b'\x08\x01' + b'\0' * 10, b'\x02\x04', b'\xff' * 40, b'\x05\x22' + b'\0' * 2]:
    o = opts + b'\0' * (-len(opts) % 4)
    send(eth(iph(6, 20 + len(o)) + tcp(40003, 7, 0x02, opts=o[:40])))
for flags in [0x00, 0x3f, 0x03, 0x06, 0x05, 0x29, 0xff]:
    send(eth(iph(6, 20) + tcp(40004, 7, flags)))
for t, c in [(0, 0), (3, 3), (3, 4), (5, 0), (11, 0), (12, 0), (13, 0), (255, 255)]:
    send(eth(iph(1, 8 + 28) + icmp(t, c, iph(6, 8)[:20] + b'\0' * 8)))
send(eth(iph(1, 8) + icmp(8, 0, b''), dst=b'\xff' * 6))      # broadcast echo
send(eth(iph(17, 12, src='127.0.0.1') + udp(1, 9, b'mart')))  # martian source
send(eth(iph(17, 12, dst='127.0.0.1') + udp(1, 9, b'mart')))  # martian destination
send(eth(iph(17, 12, ttl=0) + udp(1, 9, b'ttl0')))
for frag in [0x2000, 0x0001, 0x3fff, 0x1fff]:
    send(eth(iph(17, 12, frag=frag) + udp(1, 9, b'frag')))
# ARP garbage: short, wrong hardware and protocol sizes, requests for others.
arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, hmac, ip4(host_ip), b'\0' * 6, ip4(guest_ip))
for n in range(0, len(arp)):
    send(eth(arp[:n], 0x0806, b'\xff' * 6))
for hlen, plen in [(0, 0), (255, 255), (6, 16), (16, 4)]:
    send(eth(arp[:4] + bytes([hlen, plen]) + arp[6:], 0x0806, b'\xff' * 6))
send(eth(arp[:7] + b'\x09' + arp[8:], 0x0806))
# Unknown ethertypes, VLAN tags, random junk.
for et in [0x0000, 0x05dc, 0x8100, 0x86dd, 0x88cc, 0xffff]:
    send(eth(os.urandom(46), et))
for _ in range(2000):
    send(eth(os.urandom(rnd.randrange(0, 1500)), rnd.choice([0x0800, 0x0806, rnd.randrange(65536)])))
for _ in range(2000):
    body = bytearray(iph(rnd.choice([1, 6, 17]), 40) + os.urandom(40))
    send(eth(bytes(body)))
# 10 000 SYNs: half from spoofed addresses on the subnet, half from the host itself.
for i in range(10000):
    src = host_ip if i % 2 else f'192.168.77.{100 + i % 150}'
    port = 7 if i % 3 else rnd.randrange(1, 65536)
    send(eth(iph(6, 24, src=src) + tcp(1024 + i % 60000, port, 0x02, src=src, opts=b'\x02\x04\x05\xb4')))
# Oversized: frames beyond 1514 bytes (the TAP's MTU is raised for them), and a
# fragmented 64 KiB UDP datagram sent through the host's own stack.
for size in [1515, 1600, 4000, 9000]:
    send(eth(iph(17, size - 34) + udp(1, 9, b'o' * (size - 42))))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for size in [1473, 8000, 65507]:
    try:
        u.sendto(b'D' * size, (guest_ip, 9))
    except OSError:
        pass
print(f'hostile: sent {sent} frames')
"#;

fn ping_guest(net: &TestNet) -> Output {
    net.command("busybox")
        .args(["ping", "-c", "3", "-W", "5", testnet::GUEST_STATIC])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A round trip through the guest's TCP echo service on `port`, from the test host.
fn echo_once(net: &TestNet, port: u16) -> Output {
    let script = format!(
        "import socket\ns = socket.create_connection(('{}', {port}), timeout=10)\n\
         s.sendall(b'still alive')\nprint(s.recv(100).decode())\ns.close()\n",
        testnet::GUEST_STATIC
    );
    net.command("python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn hostile_frames_do_not_bring_writ_down() {
    let net = TestNet::start().unwrap();
    let name = net.name().to_string();
    let mut m = Machine::start("net_driver_hostile", &writ_on(&net, "selftest=netserve")).unwrap();
    m.wait_for(r"selftest netserve: ready", T).unwrap();
    let before = ping_guest(&net);
    assert!(before.status.success(), "{}", text(&before));
    let echo = echo_once(&net, 7);
    assert!(
        String::from_utf8_lossy(&echo.stdout).contains("still alive"),
        "{}",
        text(&echo)
    );

    let ip = |args: &[&str]| {
        let o = std::process::Command::new("ip")
            .args(["-n", &name])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    ip(&["link", "set", testnet::TAP, "mtu", "9000"]);
    let script = net.dir().join("hostile.py");
    std::fs::write(&script, HOSTILE).unwrap();
    let hostile = net
        .command("python3")
        .arg(&script)
        .args([
            testnet::TAP,
            testnet::GUEST_STATIC,
            testnet::HOST,
            testnet::GUEST_MAC,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(hostile.status.success(), "{}", text(&hostile));
    assert!(
        String::from_utf8_lossy(&hostile.stdout).contains("hostile: sent"),
        "{}",
        text(&hostile)
    );
    ip(&["link", "set", testnet::TAP, "mtu", "1500"]);

    // Heartbeats go on after the flood: the kernel's stack thread is still running,
    // and the frames did reach it: all that the TAP passed to QEMU (on a loaded host
    // the TAP's queue may still drop some), bar the few giants the driver drops.
    // Earlier heartbeats may still be unread: skip them.
    let stats = net
        .command("cat")
        .arg(format!(
            "/sys/class/net/{}/statistics/tx_packets",
            testnet::TAP
        ))
        .output()
        .unwrap();
    let tap_tx: u64 = String::from_utf8_lossy(&stats.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(tap_tx >= 5_000, "the TAP passed only {tap_tx} frames on");
    let want = tap_tx * 95 / 100;
    let mut rx = 0u64;
    for _ in 0..30 {
        let beat = m
            .wait_for(
                r"selftest netserve: alive rx (\d+) tx (\d+) rx_dropped (\d+)",
                T,
            )
            .unwrap();
        rx = beat.group(1).unwrap().parse().unwrap();
        if rx >= want {
            break;
        }
    }
    assert!(rx >= want, "only {rx} of {tap_tx} frames reached the stack");
    m.wait_for(r"selftest netserve: alive", T).unwrap();
    let after = ping_guest(&net);
    assert!(after.status.success(), "{}", text(&after));
    // Port 7 took the SYN flood: like Linux without SYN cookies, its backlog stays
    // full of half-open connections for a minute. Port 8 must serve.
    let echo = echo_once(&net, 8);
    assert!(
        String::from_utf8_lossy(&echo.stdout).contains("still alive"),
        "{}",
        text(&echo)
    );
    let serial = m.serial();
    assert!(!serial.contains("KERNEL PANIC"), "{serial}");
    assert!(!serial.contains("EXCEPTION"), "{serial}");
    m.kill();
    drop(net);
    assert!(
        !testnet::namespace_exists(&name),
        "namespace {name} left behind"
    );
}

/// writ-run itself: `--net tap` creates the namespace, QEMU runs in it, and the
/// namespace is gone when writ-run has exited.
#[test]
fn writ_run_net_tap_removes_its_namespace() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_writ-run"))
        .args([
            "--net",
            "tap",
            "--memory",
            "512M",
            "--append",
            "selftest=net",
            "--timeout",
            "120",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    let ns = err
        .split_whitespace()
        .find(|w| w.starts_with("writ-") && w.ends_with(':'))
        .map(|w| w.trim_end_matches(':').to_string())
        .unwrap_or_else(|| panic!("no namespace named on stderr:\n{err}"));
    assert_eq!(status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("selftest net: ok"), "{out}");
    assert!(
        !testnet::namespace_exists(&ns),
        "namespace {ns} left behind"
    );
}

/// The Linux comparison run on the same network with the same userspace (the Writ
/// rootfs): writ-run loads the four kept modules, so eth0 exists; DHCP, DNS, ping and
/// the 32 MiB download work. Prints Linux's figures for the comparison.
#[test]
fn linux_guest_on_the_tap_network_gets_eth0_dhcp_dns_and_the_file() {
    let rootfs = writ_qemu::rootfs::build().unwrap();
    let cmd = "lsmod; ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null 2>&1; \
               ip addr show eth0; ip route; nslookup host.writ.test; ping -c 5 host.writ.test; \
               time wget -q -O /dev/null http://host.writ.test/32m.bin; \
               wget -q -O - http://192.168.77.1/32m.bin | sha256sum";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_writ-run"))
        .args(["--kernel", "linux", "--initrd"])
        .arg(&rootfs.path)
        .args([
            "--net",
            "tap",
            "--memory",
            "512M",
            "--timeout",
            "200",
            "--exec",
            cmd,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let all = text(&out).replace('\r', "");
    assert_eq!(out.status.code(), Some(0), "{all}");
    for module in testnet_modules() {
        assert!(
            all.contains(&format!("\n{module} ")),
            "{module} not loaded:\n{all}"
        );
    }
    assert!(all.contains("inet 192.168.77."), "no DHCP lease:\n{all}");
    assert!(all.contains("default via 192.168.77.1"), "{all}");
    assert!(all.contains("Address: 192.168.77.1\n"), "{all}");
    assert!(all.contains("5 packets received, 0% packet loss"), "{all}");
    assert!(all.contains(&testnet::big_file_sha256()), "{all}");
    let rtt = all.lines().find(|l| l.contains("round-trip"));
    let real = all.lines().find(|l| l.starts_with("real"));
    eprintln!("linux on tap: ping {rtt:?}; wget 32 MiB {real:?}");
}

fn testnet_modules() -> [&'static str; 4] {
    writ_qemu::rootfs::LINUX_NET_MODULES
}

/// The transmit direction: the guest (`selftest=netserve`, tcp/19) sends the 32 MiB
/// test file, generated in the kernel; the test host receives it intact.
#[test]
fn guest_sends_32_mib_to_the_host_intact() {
    let net = TestNet::start().unwrap();
    let name = net.name().to_string();
    let mut m = Machine::start("net_driver_transmit", &writ_on(&net, "selftest=netserve")).unwrap();
    m.wait_for(r"selftest netserve: ready", T).unwrap();
    let script = format!(
        "import hashlib, socket, time\n\
         t = time.time(); s = socket.create_connection(('{}', 19), timeout=30)\n\
         h = hashlib.sha256(); n = 0\n\
         while True:\n    b = s.recv(1 << 20)\n    if not b: break\n    h.update(b); n += len(b)\n\
         print(n, h.hexdigest(), round(n / (time.time() - t) / 2**20, 1), 'MiB/s')\n",
        testnet::GUEST_STATIC
    );
    let out = net
        .command("python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let got = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        got.starts_with(&format!(
            "{} {} ",
            testnet::BIG_SIZE,
            testnet::big_file_sha256()
        )),
        "{}",
        text(&out)
    );
    eprintln!("guest -> host: {}", got.trim());
    let beat = m
        .wait_for(r"selftest netserve: alive .* tx_dropped (\d+)", T)
        .unwrap();
    assert_eq!(beat.group(1), Some("0"), "the driver dropped frames");
    m.kill();
    drop(net);
    assert!(
        !testnet::namespace_exists(&name),
        "namespace {name} left behind"
    );
}
