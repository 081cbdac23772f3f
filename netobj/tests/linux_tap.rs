//! NetStack against the real Linux stack: a TAP device in a network namespace this test
//! creates (root only; skipped with a message otherwise). Linux is 192.168.77.1, the
//! NetStack 192.168.77.2; nothing leaves the namespace.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration as Std;

use common::tap::*;
use common::{root, sa};
use netobj::{NetError, Readiness, Shutdown};

fn skip() -> bool {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED: {why}");
        return true;
    }
    false
}

const LINUX: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 168, 77, 1);
const WRIT: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 168, 77, 2);

#[test]
fn netstack_connects_to_linux_and_transfers_both_ways() {
    if skip() {
        return;
    }
    in_netns(|| {
        let net = TapNet::new();
        let listener = TcpListener::bind("192.168.77.1:8080").unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, peer) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"hello");
            s.write_all(b"from linux").unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            peer
        });
        let c = net.stack.create_tcp(root()).unwrap();
        assert_eq!(c.connect(sa(LINUX, 8080)), Err(NetError::InProgress));
        assert!(net.pump(Std::from_secs(5), || c.readiness().contains(Readiness::OUT)));
        assert_eq!(c.connect(sa(LINUX, 8080)), Ok(()));
        c.send(b"hello").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        assert!(
            net.pump(Std::from_secs(5), || match c.recv(&mut buf, false) {
                Ok(0) => true,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    false
                }
                Err(_) => false,
            })
        );
        assert_eq!(got, b"from linux");
        let peer = server.join().unwrap();
        assert_eq!(peer, std::net::SocketAddr::V4(c.local_addr().unwrap()));
    });
}

#[test]
fn linux_connects_to_netstack_listener() {
    if skip() {
        return;
    }
    in_netns(|| {
        let net = TapNet::new();
        let l = net.stack.create_tcp(root()).unwrap();
        l.bind(sa(0.into(), 8081)).unwrap();
        l.listen(16).unwrap();
        let client = std::thread::spawn(|| {
            let mut s = TcpStream::connect("192.168.77.2:8081").unwrap();
            s.write_all(b"ping from linux").unwrap();
            let mut buf = String::new();
            s.read_to_string(&mut buf).unwrap();
            buf
        });
        let mut conn = None;
        assert!(net.pump(Std::from_secs(5), || {
            conn = l.accept().ok();
            conn.is_some()
        }));
        let (s, peer) = conn.unwrap();
        assert_eq!(*peer.ip(), LINUX);
        assert_eq!(s.local_addr().unwrap(), sa(WRIT, 8081));
        let mut buf = [0u8; 64];
        let mut n = 0;
        assert!(net.pump(Std::from_secs(5), || {
            if let Ok(k) = s.recv(&mut buf[n..], false) {
                n += k;
            }
            n == 15
        }));
        assert_eq!(&buf[..n], b"ping from linux");
        s.send(b"pong from writ").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut reply = None;
        assert!(net.pump(Std::from_secs(5), || {
            if client.is_finished() {
                reply = Some(());
            }
            reply.is_some()
        }));
        assert_eq!(client.join().unwrap(), "pong from writ");
    });
}

#[test]
fn refused_both_ways() {
    if skip() {
        return;
    }
    in_netns(|| {
        let net = TapNet::new();
        // NetStack -> Linux port with no listener: Linux answers RST.
        let c = net.stack.create_tcp(root()).unwrap();
        assert_eq!(c.connect(sa(LINUX, 9)), Err(NetError::InProgress));
        assert!(net.pump(Std::from_secs(5), || c.readiness().contains(Readiness::ERR)));
        assert_eq!(c.connect(sa(LINUX, 9)), Err(NetError::ConnRefused));
        // Linux -> NetStack port with no listener: smoltcp answers RST.
        let t = std::thread::spawn(|| {
            TcpStream::connect("192.168.77.2:9")
                .map(|_| ())
                .unwrap_err()
                .kind()
        });
        assert!(net.pump(Std::from_secs(5), || t.is_finished()));
        assert_eq!(t.join().unwrap(), ErrorKind::ConnectionRefused);
        // UDP to a Linux port with no socket: ICMP port unreachable -> ECONNREFUSED.
        let u = net.stack.create_udp(root()).unwrap();
        u.connect(sa(LINUX, 9)).unwrap();
        assert_eq!(*u.local_addr().unwrap().ip(), WRIT);
        u.send_to(b"x", None).unwrap();
        assert!(net.pump(Std::from_secs(5), || u.readiness().contains(Readiness::ERR)));
        let mut buf = [0u8; 8];
        assert_eq!(u.recv_from(&mut buf, false), Err(NetError::ConnRefused));
        // A dead host on the network: both stacks say EHOSTUNREACH after ARP gives up.
        let linux = std::thread::spawn(|| {
            let dead = "192.168.77.99:80".parse().unwrap();
            TcpStream::connect_timeout(&dead, Std::from_secs(20))
                .map(|_| ())
                .unwrap_err()
                .raw_os_error()
        });
        let c = net.stack.create_tcp(root()).unwrap();
        assert_eq!(
            c.connect(sa([192, 168, 77, 99].into(), 80)),
            Err(NetError::InProgress)
        );
        assert!(net.pump(Std::from_secs(10), || c
            .readiness()
            .contains(Readiness::ERR)));
        assert_eq!(c.option(netobj::SockOpt::Error), Ok(113));
        assert!(net.pump(Std::from_secs(20), || linux.is_finished()));
        assert_eq!(
            linux.join().unwrap(),
            Some(113),
            "Linux agrees: EHOSTUNREACH"
        );
    });
}

#[test]
fn udp_exchange_with_linux() {
    if skip() {
        return;
    }
    in_netns(|| {
        let net = TapNet::new();
        let linux = UdpSocket::bind("192.168.77.1:5353").unwrap();
        linux.set_read_timeout(Some(Std::from_secs(5))).unwrap();
        let u = net.stack.create_udp(root()).unwrap();
        u.send_to(b"query", Some(sa(LINUX, 5353))).unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, from) = linux.recv_from(&mut buf).unwrap();
            linux.send_to(&buf[..n], from).unwrap();
            from
        });
        let mut buf = [0u8; 64];
        let mut r = None;
        assert!(net.pump(Std::from_secs(5), || {
            r = u.recv_from(&mut buf, false).ok();
            r.is_some()
        }));
        let r = r.unwrap();
        assert_eq!((&buf[..r.copied], r.from), (&b"query"[..], sa(LINUX, 5353)));
        let from = echo.join().unwrap();
        assert_eq!(
            from,
            std::net::SocketAddr::V4(SocketAddrV4::new(WRIT, u.local_addr().unwrap().port()))
        );
    });
}

#[test]
fn ping_both_ways() {
    if skip() {
        return;
    }
    in_netns(|| {
        let net = TapNet::new();
        let p = net.stack.create_icmp(root()).unwrap();
        p.bind(sa(0.into(), 0)).unwrap();
        let mut req = vec![8, 0, 0, 0, 0, 0, 0, 1];
        req.extend_from_slice(&[0x42; 56]);
        assert_eq!(p.send_to(&req, Some(sa(LINUX, 0))), Ok(64));
        let mut buf = [0u8; 128];
        let mut r = None;
        assert!(net.pump(Std::from_secs(5), || {
            r = p.recv_from(&mut buf, false).ok();
            r.is_some()
        }));
        let r = r.unwrap();
        assert_eq!((r.copied, r.from, buf[0]), (64, sa(LINUX, 0), 0));
        assert_eq!(
            u16::from_be_bytes([buf[4], buf[5]]),
            p.local_addr().unwrap().port()
        );
        // Linux (busybox ping, raw socket as root) pings the NetStack.
        if !Command::new("busybox")
            .arg("true")
            .status()
            .is_ok_and(|s| s.success())
        {
            eprintln!("SKIPPED Linux -> NetStack ping: no busybox");
            return;
        }
        let ping = std::thread::spawn(|| {
            Command::new("busybox")
                .args(["ping", "-c", "2", "-W", "3", "192.168.77.2"])
                .output()
                .unwrap()
        });
        assert!(net.pump(Std::from_secs(10), || ping.is_finished()));
        let out = ping.join().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("2 packets received"), "{text}");
    });
}

#[test]
fn bulk_transfer_through_tap_is_complete() {
    if skip() {
        return;
    }
    let up = tap_throughput(true, 64 << 20);
    let down = tap_throughput(false, 64 << 20);
    let rtt = tap_rtt(2000);
    println!("TAP: NetStack -> Linux {up:.0} MiB/s, Linux -> NetStack {down:.0} MiB/s, round trip {rtt:.1} µs");
}

#[test]
fn linux_as_router_refuses_with_icmp_net_unreachable() {
    if skip() {
        return;
    }
    if !Command::new("sysctl")
        .args(["-n", "kernel.ostype"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("SKIPPED: no sysctl to enable forwarding in the test namespace");
        return;
    }
    in_netns(|| {
        let net = TapNet::new();
        // Forwarding on in this namespace only (its own sysctl), no route beyond the TAP
        // network: Linux answers a forwarded SYN with ICMP net unreachable.
        sh(&["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
        let gw = netobj::Configure::Gateway(Some(LINUX));
        net.stack.configure(root(), gw).unwrap();
        let far = sa([10, 99, 99, 99].into(), 80);
        let c = net.stack.create_tcp(root()).unwrap();
        assert_eq!(c.connect(far), Err(NetError::InProgress));
        assert!(net.pump(Std::from_secs(5), || c.readiness().contains(Readiness::ERR)));
        assert_eq!(c.connect(far), Err(NetError::NetUnreach));
        // Linux's own answer to the same connect: ENETUNREACH too.
        let linux =
            TcpStream::connect_timeout(&"10.99.99.99:80".parse().unwrap(), Std::from_secs(5));
        assert_eq!(linux.unwrap_err().raw_os_error(), Some(101));
    });
}

/// The byte at stream offset `i` of the echo tests: a period (251) prime to every
/// segment and buffer size, so a lost, repeated or misplaced byte shows.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

fn fill(buf: &mut [u8], offset: usize) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = pattern(offset + k);
    }
}

fn first_mismatch(buf: &[u8], offset: usize) -> Option<usize> {
    (0..buf.len()).find(|&k| buf[k] != pattern(offset + k))
}

/// How far each side of an echo got (printed when it stalls).
#[derive(Debug, Default, Clone, Copy)]
#[allow(dead_code)]
struct EchoProgress {
    /// Bytes the client sent.
    sent: usize,
    /// Bytes the echoer received and sent back.
    echoed: usize,
    /// Bytes the client received back (checked against the pattern).
    returned: usize,
}

/// Poll the TAP stack, calling `work` (which says whether it moved data and whether the
/// run is done) until done; fails when nothing moved for `stall`.
fn drive(net: &TapNet, stall: Std, mut work: impl FnMut() -> (bool, bool)) -> bool {
    let mut last = std::time::Instant::now();
    loop {
        net.stack.poll(net.now());
        let (moved, done) = work();
        if done {
            return true;
        }
        if moved {
            last = std::time::Instant::now();
        } else if last.elapsed() > stall {
            return false;
        } else {
            net.idle(Std::from_micros(200));
        }
    }
}

/// A 2-thread Linux client pushing `total` bytes at an echo server at `addr` while reading
/// the echo back; returns bytes sent and bytes returned (all checked), stopping at the
/// first wrong byte.
fn linux_echo_client(addr: &'static str, total: usize, read_pause: Std) -> (usize, usize) {
    let s = TcpStream::connect(addr).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = (total - sent).min(chunk.len());
            fill(&mut chunk[..n], sent);
            if w.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
        }
        let _ = w.shutdown(std::net::Shutdown::Write);
        sent
    });
    let mut r = s;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    loop {
        std::thread::sleep(read_pause);
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(k) = first_mismatch(&buf[..n], got) {
                    got += k;
                    break;
                }
                got += n;
            }
        }
    }
    (writer.join().unwrap(), got)
}

/// Linux pushes `total` bytes at a NetStack echo server whose socket buffers are
/// SO_RCVBUF/SO_SNDBUF `bufsize` (doubled as Linux does) and reads them back. Returns the
/// throughput each way in MiB/s, or the progress at a stall.
fn netstack_echoes(
    total: usize,
    bufsize: Option<i32>,
    mtu: usize,
    read_size: usize,
    delay: Std,
    read_pause: Std,
) -> Result<(f64, (u64, u32)), EchoProgress> {
    in_netns(move || {
        let net = TapNet::with_mtu_delay(mtu, delay);
        let l = net.stack.create_tcp(root()).unwrap();
        if let Some(b) = bufsize {
            l.set_option(netobj::SockOpt::RcvBuf, b).unwrap();
            l.set_option(netobj::SockOpt::SndBuf, b).unwrap();
        }
        l.bind(sa(0.into(), 8090)).unwrap();
        l.listen(4).unwrap();
        let t0 = std::time::Instant::now();
        let client =
            std::thread::spawn(move || linux_echo_client("192.168.77.2:8090", total, read_pause));
        let mut conn = None;
        assert!(net.pump(Std::from_secs(5), || {
            conn = l.accept().ok();
            conn.is_some()
        }));
        let (s, _) = conn.unwrap();
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut echoed = 0;
        let mut eof = false;
        let ok = drive(&net, Std::from_secs(10), || {
            let mut moved = false;
            if !pending.is_empty() {
                if let Ok(n) = s.send(&pending) {
                    pending.drain(..n);
                    echoed += n;
                    moved = true;
                }
            }
            // Like a blocking read-then-write_all echo loop: no read while a reply
            // waits for send-buffer room, and reads of an odd size.
            if pending.is_empty() && !eof {
                match s.recv(&mut buf[..read_size], false) {
                    Ok(0) => {
                        eof = true;
                        moved = true;
                    }
                    Ok(n) => {
                        pending.extend_from_slice(&buf[..n]);
                        moved = true;
                    }
                    Err(_) => {}
                }
            }
            if eof && pending.is_empty() {
                let _ = s.shutdown(Shutdown::Write);
            }
            (moved, client.is_finished())
        });
        let secs = t0.elapsed().as_secs_f64();
        if !ok {
            // Reset the connection so the client's threads end; a client that still
            // hangs is left behind (usize::MAX: its counts are unknown).
            drop(s);
            net.pump(Std::from_secs(5), || client.is_finished());
            let (sent, returned) = if client.is_finished() {
                client.join().unwrap_or((0, 0))
            } else {
                (usize::MAX, usize::MAX)
            };
            return Err(EchoProgress {
                sent,
                echoed,
                returned,
            });
        }
        let (sent, returned) = client.join().unwrap();
        if sent != total || returned != total {
            return Err(EchoProgress {
                sent,
                echoed,
                returned,
            });
        }
        Ok((
            total as f64 / (1024.0 * 1024.0) / secs,
            net.window_shrinks(),
        ))
    })
}

/// A NetStack client with socket buffers `bufsize` pushes `total` bytes at a Linux echo
/// server while reading the echo back.
fn linux_echoes(total: usize, bufsize: Option<i32>, mtu: usize) -> Result<f64, EchoProgress> {
    in_netns(move || {
        let net = TapNet::with_mtu(mtu);
        let listener = TcpListener::bind("192.168.77.1:8091").unwrap();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut n_total = 0;
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        n_total += n;
                    }
                }
            }
            let _ = s.shutdown(std::net::Shutdown::Write);
            n_total
        });
        let c = net.stack.create_tcp(root()).unwrap();
        if let Some(b) = bufsize {
            c.set_option(netobj::SockOpt::RcvBuf, b).unwrap();
            c.set_option(netobj::SockOpt::SndBuf, b).unwrap();
        }
        let _ = c.connect(sa(LINUX, 8091));
        assert!(net.pump(Std::from_secs(5), || c.readiness().contains(Readiness::OUT)));
        let t0 = std::time::Instant::now();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut buf = vec![0u8; 64 * 1024];
        let (mut sent, mut got, mut eof, mut bad) = (0usize, 0usize, false, false);
        let ok = drive(&net, Std::from_secs(10), || {
            let mut moved = false;
            if sent < total {
                let n = (total - sent).min(chunk.len());
                fill(&mut chunk[..n], sent);
                if let Ok(k) = c.send(&chunk[..n]) {
                    sent += k;
                    moved = true;
                    if sent == total {
                        c.shutdown(Shutdown::Write).unwrap();
                    }
                }
            }
            match c.recv(&mut buf, false) {
                Ok(0) => {
                    eof = true;
                    moved = true;
                }
                Ok(n) => {
                    if let Some(k) = first_mismatch(&buf[..n], got) {
                        got += k;
                        bad = true;
                    } else {
                        got += n;
                    }
                    moved = true;
                }
                Err(_) => {}
            }
            (moved, bad || (eof && echo.is_finished()))
        });
        let secs = t0.elapsed().as_secs_f64();
        let progress = EchoProgress {
            sent,
            echoed: if echo.is_finished() { usize::MAX } else { 0 },
            returned: got,
        };
        drop(c);
        net.pump(Std::from_secs(2), || echo.is_finished());
        if !ok || bad || got != total {
            return Err(progress);
        }
        assert_eq!(echo.join().unwrap(), total);
        Ok(total as f64 / (1024.0 * 1024.0) / secs)
    })
}

const ECHO_TOTAL: usize = 32 << 20;

#[test]
fn echo_both_ways_netstack_echoes_with_small_buffers() {
    if skip() {
        return;
    }
    // (MTU, SO_RCVBUF, delay of Linux's frames, pause before each 64 KiB read back).
    // MTU 1500 without timestamps gives 1460-byte segments, not a multiple of the
    // window-scale unit (8 with the default 256 KiB buffer): the case that used to stall.
    let ms = Std::from_millis;
    let cases = [
        (1500, None, ms(0), ms(1)),
        (1500, None, ms(1), ms(1)),
        (1500, None, ms(0), ms(0)),
        (1500, Some(16 * 1024), ms(1), ms(0)),
        (1500, Some(100_000), ms(1), ms(1)),
        (TAP_MTU, None, ms(0), ms(0)),
        (TAP_MTU, Some(100_000), ms(1), ms(0)),
    ];
    for (mtu, buf, delay, pause) in cases {
        let what = format!("MTU {mtu}, SO_RCVBUF {buf:?}, delay {delay:?}, read pause {pause:?}");
        match netstack_echoes(ECHO_TOTAL, buf, mtu, 4093, delay, pause) {
            Ok((mibs, shrinks)) => {
                println!("NetStack echoes 32 MiB, {what}: {mibs:.1} MiB/s each way, window shrinks {shrinks:?}");
            }
            Err(p) => panic!("echo through a NetStack, {what}, stalled: {p:?}"),
        }
    }
}

#[test]
fn echo_both_ways_linux_echoes() {
    if skip() {
        return;
    }
    for mtu in [1500, TAP_MTU] {
        for buf in [Some(16 * 1024), Some(100_000), None] {
            match linux_echoes(ECHO_TOTAL, buf, mtu) {
                Ok(mibs) => println!(
                    "Linux echoes 32 MiB for a NetStack client, MTU {mtu}, SO_RCVBUF {buf:?}: {mibs:.1} MiB/s each way"
                ),
                Err(p) => panic!(
                    "echo from Linux to a NetStack client, MTU {mtu}, SO_RCVBUF {buf:?} stalled: {p:?}"
                ),
            }
        }
    }
}
