//! TCP between two stacks on an in-memory wire: the happy path and the exact errnos of
//! connect, listen, accept, transfer and teardown.

mod common;

use common::*;
use netobj::{Duration, NetError, Readiness, Shutdown, SockOpt, TcpEndpoint};

fn connected_pair(net: &Net, port: u16) -> (TcpEndpoint, TcpEndpoint, TcpEndpoint) {
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, port)).unwrap();
    l.listen(16).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    assert_eq!(c.connect(sa(B_IP, port)), Err(NetError::InProgress));
    assert!(net.run_until(Duration::from_secs(5), || c
        .readiness()
        .contains(Readiness::OUT)));
    assert_eq!(c.connect(sa(B_IP, port)), Ok(()));
    assert!(net.run_until(Duration::from_secs(5), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    (l, c, s)
}

#[test]
fn nonblocking_connect_reports_inprogress_already_then_isconn() {
    let net = Net::with(0.0, Duration::from_millis(5), 1500);
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 80)).unwrap();
    l.listen(4).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::InProgress));
    // The local port is assigned as soon as connect starts (curl's getsockname).
    let local = c.local_addr().unwrap();
    assert_eq!(*local.ip(), A_IP);
    assert!(netobj::EPHEMERAL_PORTS.contains(&local.port()));
    // While the SYN is in flight.
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::Already));
    assert_eq!(
        c.readiness() & (Readiness::OUT | Readiness::IN),
        Readiness::empty()
    );
    assert!(net.run_until(Duration::from_secs(5), || c
        .readiness()
        .contains(Readiness::OUT)));
    assert_eq!(c.option(SockOpt::Error), Ok(0));
    assert_eq!(c.connect(sa(B_IP, 80)), Ok(()));
    assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::IsConnected));
    assert_eq!(c.peer_addr(), Ok(sa(B_IP, 80)));
}

#[test]
fn transfer_both_ways_then_fin_reads_zero_with_rdhup() {
    let net = Net::new();
    let (_l, c, s) = connected_pair(&net, 7000);
    assert_eq!(c.send(b"hello"), Ok(5));
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::IN)));
    let mut buf = [0u8; 64];
    assert_eq!(s.recv(&mut buf, true), Ok(5)); // MSG_PEEK leaves it queued
    assert_eq!(s.recv(&mut buf, false), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(s.recv(&mut buf, false), Err(NetError::WouldBlock));
    assert_eq!(s.send(b"world!"), Ok(6));
    assert!(net.run_until(Duration::from_secs(1), || c
        .readiness()
        .contains(Readiness::IN)));
    assert_eq!(c.recv(&mut buf, false), Ok(6));
    // FIN from the client: the server reads 0 and sees POLLIN|POLLRDHUP, not POLLHUP.
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.send(b"x"), Err(NetError::BrokenPipe));
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::RDHUP)));
    let r = s.readiness();
    assert!(
        r.contains(Readiness::IN) && !r.contains(Readiness::HUP),
        "{r:?}"
    );
    assert_eq!(s.recv(&mut buf, false), Ok(0));
    // The server may still send after the client's FIN.
    assert_eq!(s.send(b"late"), Ok(4));
    s.shutdown(Shutdown::Write).unwrap();
    assert!(net.run_until(Duration::from_secs(1), || c
        .readiness()
        .contains(Readiness::RDHUP)));
    assert_eq!(c.recv(&mut buf, false), Ok(4));
    assert_eq!(c.recv(&mut buf, false), Ok(0));
    assert!(c.readiness().contains(Readiness::HUP));
}
