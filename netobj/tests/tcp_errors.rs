//! TCP failure paths with their exact Linux errnos: refused, timed out, reset, address
//! conflicts, full buffers, and what each state answers to operations it does not take.

mod common;

use common::*;
use netobj::{Duration, NetError, NetRights, Readiness, Shutdown, SockOpt, StackConfig};

#[test]
fn refused_connect_sets_so_error_once_and_poll_reports_err_hup() {
    let net = Net::new();
    let c = net.a.create_tcp(root()).unwrap();
    assert_eq!(c.connect(sa(B_IP, 9)), Err(NetError::InProgress));
    assert!(net.run_until(Duration::from_secs(2), || c
        .readiness()
        .contains(Readiness::ERR)));
    let r = c.readiness();
    for bit in [
        Readiness::IN,
        Readiness::OUT,
        Readiness::ERR,
        Readiness::HUP,
    ] {
        assert!(r.contains(bit), "{r:?}");
    }
    assert_eq!(c.option(SockOpt::Error), Ok(111)); // ECONNREFUSED
    assert_eq!(c.option(SockOpt::Error), Ok(0)); // cleared
    assert!(!c.readiness().contains(Readiness::ERR));
    // The error was consumed: connect now says ECONNABORTED, as Linux does.
    assert_eq!(c.connect(sa(B_IP, 9)), Err(NetError::ConnAborted));
}

#[test]
fn refused_connect_reported_by_connect_itself() {
    let net = Net::new();
    let c = net.a.create_tcp(root()).unwrap();
    assert_eq!(c.connect(sa(B_IP, 9)), Err(NetError::InProgress));
    net.run_for(Duration::from_millis(50));
    assert_eq!(c.connect(sa(B_IP, 9)), Err(NetError::ConnRefused));
    // Back to a fresh socket: connecting again starts over.
    assert_eq!(c.connect(sa(B_IP, 9)), Err(NetError::InProgress));
}

#[test]
fn unanswered_syn_times_out_with_etimedout() {
    let cfg = StackConfig {
        connect_timeout: Duration::from_secs(127),
        ..config(A_IP, 1)
    };
    let net = Net::with_config(0.0, Duration::from_millis(1), 1500, cfg, config(B_IP, 2));
    net.wire.state.lock().unwrap().drop_ip[1] = true;
    let c = net.a.create_tcp(root()).unwrap();
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::InProgress));
    net.run_for(Duration::from_secs(100));
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::Already));
    assert!(net.run_until(Duration::from_secs(60), || c
        .readiness()
        .contains(Readiness::ERR)));
    assert_eq!(c.option(SockOpt::Error), Ok(110)); // ETIMEDOUT
    assert!(net.now() >= netobj::Instant::from_secs(1 + 127));
}

#[test]
fn peer_closing_with_unread_data_resets_with_econnreset_then_eof_and_epipe() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 5000)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 5000));
    assert!(net.run_until(Duration::from_secs(2), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    c.send(b"unread").unwrap();
    net.run_for(Duration::from_millis(50));
    drop(s); // closing with unread data sends RST, as Linux does
    assert!(net.run_until(Duration::from_secs(2), || c
        .readiness()
        .contains(Readiness::ERR)));
    let r = c.readiness();
    assert!(
        r.contains(Readiness::HUP | Readiness::IN | Readiness::RDHUP),
        "{r:?}"
    );
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf, false), Err(NetError::ConnReset));
    assert_eq!(c.recv(&mut buf, false), Ok(0));
    assert_eq!(c.send(b"x"), Err(NetError::BrokenPipe));
}

#[test]
fn send_on_reset_connection_reports_econnreset_first() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 5001)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 5001));
    assert!(net.run_until(Duration::from_secs(2), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    c.send(b"unread").unwrap();
    net.run_for(Duration::from_millis(50));
    drop(s);
    net.run_for(Duration::from_millis(50));
    assert_eq!(c.send(b"x"), Err(NetError::ConnReset));
    assert_eq!(c.send(b"x"), Err(NetError::BrokenPipe));
}

#[test]
fn bind_conflicts_and_privileged_ports() {
    let net = Net::new();
    let a = net.a.create_tcp(root()).unwrap();
    a.bind(sa(A_IP, 8080)).unwrap();
    assert_eq!(a.bind(sa(A_IP, 8081)), Err(NetError::Invalid)); // already bound
    let b = net.a.create_tcp(root()).unwrap();
    assert_eq!(b.bind(sa(0.into(), 8080)), Err(NetError::AddrInUse));
    assert_eq!(b.bind(sa(B_IP, 8082)), Err(NetError::AddrNotAvail)); // not our address
    let user = netobj::Caller::with_rights(NetRights::UNPRIVILEGED);
    let u = net.a.create_tcp(user).unwrap();
    assert_eq!(u.bind(sa(0.into(), 80)), Err(NetError::AccessDenied));
    u.bind(sa(0.into(), 1024)).unwrap();
    // Two listeners on one port never, even with SO_REUSEADDR.
    let r1 = net.a.create_tcp(root()).unwrap();
    let r2 = net.a.create_tcp(root()).unwrap();
    r1.set_option(SockOpt::ReuseAddr, 1).unwrap();
    r2.set_option(SockOpt::ReuseAddr, 1).unwrap();
    r1.bind(sa(0.into(), 9100)).unwrap();
    r2.bind(sa(0.into(), 9100)).unwrap();
    r1.listen(5).unwrap();
    assert_eq!(r2.listen(5), Err(NetError::AddrInUse));
}

#[test]
fn closing_frees_the_port() {
    let net = Net::new();
    let a = net.a.create_tcp(root()).unwrap();
    a.bind(sa(0.into(), 7777)).unwrap();
    a.listen(1).unwrap();
    drop(a);
    let b = net.a.create_tcp(root()).unwrap();
    assert_eq!(b.bind(sa(0.into(), 7777)), Ok(()));
}

#[test]
fn operations_in_the_wrong_state() {
    let net = Net::new();
    let t = net.a.create_tcp(root()).unwrap();
    let mut buf = [0u8; 4];
    // A fresh socket: POLLOUT|POLLHUP, recv ENOTCONN, send EPIPE, shutdown ENOTCONN.
    assert_eq!(t.readiness(), Readiness::WRITABLE | Readiness::HUP);
    assert_eq!(t.recv(&mut buf, false), Err(NetError::NotConnected));
    assert_eq!(t.send(b"x"), Err(NetError::BrokenPipe));
    assert_eq!(t.shutdown(Shutdown::Both), Err(NetError::NotConnected));
    assert_eq!(t.peer_addr(), Err(NetError::NotConnected));
    assert!(matches!(t.accept(), Err(NetError::Invalid)));
    t.listen(3).unwrap();
    assert_eq!(t.option(SockOpt::AcceptConn), Ok(1));
    assert!(matches!(t.accept(), Err(NetError::WouldBlock)));
    assert_eq!(t.recv(&mut buf, false), Err(NetError::NotConnected));
    assert_eq!(t.connect(sa(B_IP, 1)), Err(NetError::IsConnected));
    assert_eq!(t.readiness(), Readiness::empty());
    // A listener without an explicit bind got an ephemeral port.
    assert!(netobj::EPHEMERAL_PORTS.contains(&t.local_addr().unwrap().port()));
}

#[test]
fn send_buffer_full_gives_eagain_and_pollout_clears() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 6000)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 6000));
    assert!(net.run_until(Duration::from_secs(2), || l
        .readiness()
        .contains(Readiness::IN)));
    let (_s, _) = l.accept().unwrap();
    // The server never reads: its window fills, then our send buffer.
    let chunk = vec![7u8; 64 * 1024];
    let mut sent = 0usize;
    loop {
        match c.send(&chunk) {
            Ok(n) => sent += n,
            Err(NetError::WouldBlock) => {
                net.run_for(Duration::from_millis(100));
                if c.send(&chunk) == Err(NetError::WouldBlock) {
                    break;
                }
            }
            Err(e) => panic!("{e:?}"),
        }
        net.settle();
        assert!(sent < 16 << 20, "never blocked");
    }
    assert!(
        sent >= 256 * 1024,
        "the peer's window took at least 256 KiB: {sent}"
    );
    assert!(!c.readiness().contains(Readiness::OUT));
}

#[test]
fn rights_gate_creation() {
    let net = Net::new();
    let none = netobj::Caller::with_rights(NetRights::empty());
    assert!(matches!(
        net.a.create_tcp(none),
        Err(NetError::AccessDenied)
    ));
    assert!(matches!(
        net.a.create_udp(none),
        Err(NetError::AccessDenied)
    ));
    assert!(matches!(
        net.a.create_icmp(none),
        Err(NetError::AccessDenied)
    ));
    assert!(matches!(
        net.a.create_raw(none),
        Err(NetError::PermissionDenied)
    ));
    assert!(matches!(
        net.a.create_packet(none, 0x0800),
        Err(NetError::PermissionDenied)
    ));
    let listen_only = netobj::Caller::with_rights(NetRights::TCP_LISTEN);
    let t = net.a.create_tcp(listen_only).unwrap();
    assert_eq!(t.connect(sa(B_IP, 80)), Err(NetError::AccessDenied));
    let cfg = netobj::Configure::Gateway(None);
    assert_eq!(net.a.configure(none, cfg), Err(NetError::PermissionDenied));
}

#[test]
fn time_wait_holds_the_port_unless_so_reuseaddr() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 8000)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 8000));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    // The server closes first: its side goes through FIN_WAIT to TIME_WAIT.
    drop(s);
    drop(l);
    assert!(net.run_until(Duration::from_secs(1), || c
        .readiness()
        .contains(Readiness::RDHUP)));
    drop(c);
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.b.stats().orphans, 1, "TIME_WAIT");
    let again = net.b.create_tcp(root()).unwrap();
    assert_eq!(again.bind(sa(B_IP, 8000)), Err(NetError::AddrInUse));
    again.set_option(SockOpt::ReuseAddr, 1).unwrap();
    assert_eq!(again.bind(sa(B_IP, 8000)), Ok(()));
    // Once TIME_WAIT ends the port is free for anyone.
    net.run_for(Duration::from_secs(15));
    assert_eq!(net.b.stats().orphans, 0);
    let third = net.b.create_tcp(root()).unwrap();
    drop(again);
    assert_eq!(third.bind(sa(B_IP, 8000)), Ok(()));
}

fn established(net: &Net, port: u16) -> (netobj::TcpEndpoint, netobj::TcpEndpoint) {
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, port)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, port));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    (c, s)
}

#[test]
fn unacknowledged_data_times_out_with_etimedout_but_idle_connections_live_on() {
    let net = Net::new();
    let (c, _s) = established(&net, 8100);
    let (idle, _t) = established(&net, 8101);
    net.wire.state.lock().unwrap().blackhole[1] = true;
    net.run_for(Duration::from_secs(600));
    c.send(b"into the void").unwrap();
    net.run_for(Duration::from_secs(900));
    assert!(
        !c.readiness().contains(Readiness::ERR),
        "Linux retries for ~15 minutes"
    );
    assert!(net.run_until(Duration::from_secs(60), || c
        .readiness()
        .contains(Readiness::ERR)));
    let mut buf = [0u8; 4];
    assert_eq!(c.recv(&mut buf, false), Err(NetError::TimedOut));
    assert_eq!(c.send(b"x"), Err(NetError::BrokenPipe));
    // The idle connection (nothing to send, no keepalive) is untouched, as on Linux.
    assert_eq!(idle.readiness() & Readiness::ERR, Readiness::empty());
    assert_eq!(idle.send(b"still here"), Ok(10));
}

#[test]
fn keepalive_detects_a_dead_peer_with_etimedout() {
    let net = Net::new();
    let (c, _s) = established(&net, 8102);
    c.set_option(SockOpt::KeepAlive, 1).unwrap();
    c.set_option(SockOpt::TcpKeepIdle, 10).unwrap();
    c.set_option(SockOpt::TcpKeepIntvl, 5).unwrap();
    c.set_option(SockOpt::TcpKeepCnt, 3).unwrap();
    // A live peer answers the probes: nothing happens for a long time.
    net.run_for(Duration::from_secs(120));
    assert!(!c.readiness().contains(Readiness::ERR));
    net.wire.state.lock().unwrap().blackhole[1] = true;
    assert!(net.run_until(Duration::from_secs(60), || c
        .readiness()
        .contains(Readiness::ERR)));
    assert_eq!(c.option(SockOpt::Error), Ok(110));
}

#[test]
fn a_dead_host_on_the_local_network_gives_ehostunreach_after_three_arp_probes() {
    let net = Net::new();
    net.wire.state.lock().unwrap().blackhole[1] = true;
    let c = net.a.create_tcp(root()).unwrap();
    let start = net.now();
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::InProgress));
    assert!(net.run_until(Duration::from_secs(10), || c
        .readiness()
        .contains(Readiness::ERR)));
    let took = net.now() - start;
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::HostUnreach));
    // Once the host is back, connecting works again.
    net.wire.state.lock().unwrap().blackhole[1] = false;
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 80)).unwrap();
    l.listen(1).unwrap();
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::InProgress));
    assert!(net.run_until(Duration::from_secs(5), || c
        .readiness()
        .contains(Readiness::OUT)));
    assert_eq!(c.connect(sa(B_IP, 80)), Ok(()));
}

/// An ICMP destination-unreachable (code `code`) from B to A quoting a TCP segment from
/// A's `port` to `dst`, as a router would send it.
fn icmp_unreachable_frame(code: u8, port: u16, dst: std::net::SocketAddrV4) -> Vec<u8> {
    let mut quoted = vec![0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0];
    quoted.extend_from_slice(&A_IP.octets());
    quoted.extend_from_slice(&dst.ip().octets());
    quoted.extend_from_slice(&port.to_be_bytes());
    quoted.extend_from_slice(&dst.port().to_be_bytes());
    quoted.extend_from_slice(&[0, 0, 0, 1]); // sequence number
    let mut icmp = vec![3, code, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted);
    let c = netobj::internet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
    ip.extend_from_slice(&B_IP.octets());
    ip.extend_from_slice(&A_IP.octets());
    let total = (20 + icmp.len()) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let c = netobj::internet_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    frame
}

#[test]
fn a_routers_icmp_unreachable_fails_the_connect() {
    let cfg = netobj::StackConfig {
        gateway: Some(B_IP),
        ..config(A_IP, 3)
    };
    let net = Net::with_config(0.0, Duration::from_millis(1), 1500, cfg, config(B_IP, 4));
    let far = sa([203, 0, 113, 9].into(), 80);
    for (code, errno) in [(1u8, 113), (0, 101), (3, 111)] {
        let c = net.a.create_tcp(root()).unwrap();
        assert_eq!(c.connect(far), Err(NetError::InProgress));
        net.run_for(Duration::from_millis(20)); // the SYN went to the gateway
        assert!(!c.readiness().contains(Readiness::ERR));
        let port = c.local_addr().unwrap().port();
        // An error about another connection changes nothing.
        net.wire
            .inject(0, icmp_unreachable_frame(code, port.wrapping_add(1), far));
        net.run_for(Duration::from_millis(5));
        assert!(!c.readiness().contains(Readiness::ERR));
        net.wire.inject(0, icmp_unreachable_frame(code, port, far));
        net.run_for(Duration::from_millis(5));
        assert_eq!(c.option(SockOpt::Error), Ok(errno), "code {code}");
    }
    // An established connection ignores them (soft errors, as on Linux).
    let (c, _s) = established(&net, 8200);
    let port = c.local_addr().unwrap().port();
    net.wire
        .inject(0, icmp_unreachable_frame(1, port, sa(B_IP, 8200)));
    net.run_for(Duration::from_millis(5));
    assert_eq!(c.option(SockOpt::Error), Ok(0));
    assert_eq!(c.send(b"fine"), Ok(4));
}
