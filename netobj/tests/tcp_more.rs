//! TCP: backlog, loopback, lossy links, options, wakers, finalization and revocation.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use common::*;
use netobj::{Caller, Duration, NetError, NetRights, Readiness, Shutdown, SockOpt, TcpEndpoint};

#[test]
fn backlog_holds_128_pending_connections() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 80)).unwrap();
    l.listen(128).unwrap();
    // All SYNs leave A in one burst, before B polls even once.
    let clients: Vec<TcpEndpoint> = (0..128)
        .map(|_| {
            let c = net.a.create_tcp(root()).unwrap();
            assert_eq!(c.connect(sa(B_IP, 80)), Err(NetError::InProgress));
            c
        })
        .collect();
    assert!(net.run_until(Duration::from_secs(5), || clients
        .iter()
        .all(|c| c.readiness().contains(Readiness::OUT))));
    for c in &clients {
        assert_eq!(c.option(SockOpt::Error), Ok(0));
        assert_eq!(c.connect(sa(B_IP, 80)), Ok(()));
    }
    let mut peers = std::collections::BTreeSet::new();
    while let Ok((_s, peer)) = l.accept() {
        peers.insert(peer);
    }
    assert_eq!(peers.len(), 128);
    let expected: std::collections::BTreeSet<_> =
        clients.iter().map(|c| c.local_addr().unwrap()).collect();
    assert_eq!(peers, expected);
}

#[test]
fn full_backlog_drops_syns_so_clients_wait_instead_of_being_refused() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 81)).unwrap();
    l.listen(1).unwrap(); // Linux: backlog + 1 = 2 established connections
    let clients: Vec<TcpEndpoint> = (0..4)
        .map(|_| {
            let c = net.a.create_tcp(root()).unwrap();
            let _ = c.connect(sa(B_IP, 81));
            c
        })
        .collect();
    net.run_for(Duration::from_millis(500));
    let up = clients
        .iter()
        .filter(|c| c.readiness().contains(Readiness::OUT))
        .count();
    assert_eq!(up, 2);
    assert!(clients
        .iter()
        .all(|c| !c.readiness().contains(Readiness::ERR)));
    // Accepting makes room; the waiting clients get in on their SYN retransmission.
    let mut accepted = vec![];
    assert!(net.run_until(Duration::from_secs(30), || {
        while let Ok((s, _)) = l.accept() {
            accepted.push(s);
        }
        accepted.len() == 4
    }));
    assert!(clients.iter().all(|c| c.connect(sa(B_IP, 81)).is_ok()));
}

#[test]
fn loopback_connect_on_one_stack() {
    let net = Net::new();
    let l = net.a.create_tcp(root()).unwrap();
    l.bind(sa(0.into(), 18080)).unwrap();
    l.listen(8).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    assert_eq!(
        c.connect(sa([127, 0, 0, 1].into(), 18080)),
        Err(NetError::InProgress)
    );
    assert_eq!(*c.local_addr().unwrap().ip(), std::net::Ipv4Addr::LOCALHOST);
    assert!(net.run_until(Duration::from_secs(1), || c
        .readiness()
        .contains(Readiness::OUT)));
    let (s, _) = l.accept().unwrap();
    assert_eq!(s.local_addr().unwrap(), sa([127, 0, 0, 1].into(), 18080));
    c.send(b"GET /blob").unwrap();
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::IN)));
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(&mut buf, false), Ok(9));
    // Nothing for 127/8 ever reached the wire.
    assert_eq!(net.b.stats().link.rx_frames, 0);
    // Connecting to our own device address also loops back.
    let c2 = net.a.create_tcp(root()).unwrap();
    let _ = c2.connect(sa(A_IP, 18080));
    assert!(net.run_until(Duration::from_secs(1), || c2
        .readiness()
        .contains(Readiness::OUT)));
    assert_eq!(net.b.stats().link.rx_frames, 0);
}

fn transfer(net: &Net, total: usize) -> Vec<u8> {
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 9000)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 9000));
    assert!(net.run_until(Duration::from_secs(30), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    let data: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let ok = net.run_until(Duration::from_secs(3600), || {
        while sent < total {
            match c.send(&data[sent..]) {
                Ok(n) => sent += n,
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        if sent == total {
            let _ = c.shutdown(Shutdown::Write);
        }
        loop {
            match s.recv(&mut buf, false) {
                Ok(0) => return true,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(NetError::WouldBlock) => return false,
                Err(e) => panic!("{e:?}"),
            }
        }
    });
    assert!(ok, "transfer stalled at {} of {total}", got.len());
    assert!(got == data, "data corrupted");
    got
}

#[test]
fn mss_is_clamped_so_mismatched_mtus_still_carry_tcp() {
    // A has a 1500-byte device, B a 9000-byte one; both interfaces think 64 KiB.
    let net = Net::with_mtus(
        0.0,
        Duration::from_millis(1),
        [1500, 9000],
        config(A_IP, 1),
        config(B_IP, 2),
    );
    transfer(&net, 4 << 20);
    assert_eq!(net.wire.oversized(), 0, "no segment exceeded a device MTU");
}

#[test]
fn loopback_carries_64k_segments() {
    let net = Net::new();
    let l = net.a.create_tcp(root()).unwrap();
    l.bind(sa([127, 0, 0, 1].into(), 9500)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa([127, 0, 0, 1].into(), 9500));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    let before = net.a.stats().link.loopback_frames;
    c.send(&vec![1u8; 200_000]).unwrap();
    let mut got = 0;
    let mut buf = vec![0u8; 1 << 18];
    assert!(net.run_until(Duration::from_secs(2), || {
        got += s.recv(&mut buf, false).unwrap_or(0);
        got == 200_000
    }));
    let frames = net.a.stats().link.loopback_frames - before;
    assert!(
        frames < 20,
        "200 KB in {frames} frames: 64 KiB segments, not 1460-byte ones"
    );
}

#[test]
fn lossy_delayed_link_delivers_every_byte_in_order() {
    let net = Net::with(0.05, Duration::from_millis(20), 1500);
    transfer(&net, 2 << 20);
    assert!(net.wire.state.lock().unwrap().dropped > 50);
}

#[test]
fn clean_link_bulk_transfer() {
    let net = Net::new();
    transfer(&net, 8 << 20);
}

#[test]
fn socket_options_read_back_as_linux() {
    let net = Net::new();
    let t = net.a.create_tcp(root()).unwrap();
    assert_eq!(t.option(SockOpt::RcvBuf), Ok(131_072));
    assert_eq!(t.option(SockOpt::SndBuf), Ok(16_384));
    t.set_option(SockOpt::RcvBuf, 65536).unwrap();
    assert_eq!(t.option(SockOpt::RcvBuf), Ok(131_072));
    t.set_option(SockOpt::SndBuf, 1 << 30).unwrap();
    assert_eq!(t.option(SockOpt::SndBuf), Ok(425_984));
    // curl's sequence.
    t.set_option(SockOpt::TcpNoDelay, 1).unwrap();
    t.set_option(SockOpt::KeepAlive, 1).unwrap();
    t.set_option(SockOpt::TcpKeepIdle, 60).unwrap();
    t.set_option(SockOpt::TcpKeepIntvl, 60).unwrap();
    t.set_option(SockOpt::TcpKeepCnt, 9).unwrap();
    assert_eq!(t.option(SockOpt::TcpNoDelay), Ok(1));
    assert_eq!(t.option(SockOpt::KeepAlive), Ok(1));
    assert_eq!(t.option(SockOpt::TcpKeepIdle), Ok(60));
    assert_eq!(t.option(SockOpt::TcpKeepCnt), Ok(9));
    assert_eq!(t.option(SockOpt::Type), Ok(1));
    assert_eq!(
        t.set_option(SockOpt::TcpKeepIntvl, 0),
        Err(NetError::Invalid)
    );
    assert_eq!(t.set_option(SockOpt::Error, 1), Err(NetError::NoProtoOpt));
}

struct Counter(AtomicUsize);
impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn wakers_fire_when_readiness_gains_a_bit() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4000)).unwrap();
    l.listen(1).unwrap();
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    l.set_waker(Some(&waker));
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4000));
    net.run_for(Duration::from_millis(10));
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "woken once for the pending connection"
    );
    let (s, _) = l.accept().unwrap();
    let w2 = Arc::new(Counter(AtomicUsize::new(0)));
    s.set_waker(Some(&Waker::from(w2.clone())));
    net.run_for(Duration::from_millis(10));
    assert_eq!(w2.0.load(Ordering::SeqCst), 0, "nothing new, no wake");
    c.send(b"ping").unwrap();
    net.run_for(Duration::from_millis(10));
    assert_eq!(w2.0.load(Ordering::SeqCst), 1);
    // Reading clears POLLIN; new data must wake again.
    let mut buf = [0u8; 8];
    s.recv(&mut buf, false).unwrap();
    c.send(b"pong").unwrap();
    net.run_for(Duration::from_millis(10));
    assert_eq!(w2.0.load(Ordering::SeqCst), 2);
}

#[test]
fn poll_at_asks_for_the_retransmission_time_and_nothing_when_idle() {
    let net = Net::new();
    let now = net.now();
    assert_eq!(net.a.poll_at(now), None, "an idle stack needs no tick");
    net.wire.state.lock().unwrap().blackhole[1] = true;
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 80));
    assert_eq!(
        net.a.poll_at(now),
        Some(netobj::Instant::from_millis(0)),
        "SYN to send now"
    );
    net.a.poll(now);
    let next = net.a.poll_at(now).unwrap();
    assert!(
        next > now && next <= now + Duration::from_secs(3),
        "{next:?}"
    );
}

#[test]
fn close_sends_fin_and_the_peer_reads_eof() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4100)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4100));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    c.send(b"bye").unwrap();
    drop(c);
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::RDHUP)));
    let mut buf = [0u8; 8];
    assert_eq!(s.recv(&mut buf, false), Ok(3));
    assert_eq!(s.recv(&mut buf, false), Ok(0));
    drop(s);
    // Both sides wind down; the orphans and their ports go away.
    net.run_for(Duration::from_secs(70));
    assert_eq!(net.a.stats().orphans, 0);
    assert_eq!(net.b.stats().orphans, 0);
}

#[test]
fn closing_a_listener_resets_unaccepted_connections() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4200)).unwrap();
    l.listen(4).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4200));
    assert!(net.run_until(Duration::from_secs(1), || c
        .readiness()
        .contains(Readiness::OUT)));
    drop(l);
    assert!(net.run_until(Duration::from_secs(1), || c
        .readiness()
        .contains(Readiness::ERR)));
    let mut buf = [0u8; 4];
    assert_eq!(c.recv(&mut buf, false), Err(NetError::ConnReset));
}

#[test]
fn shutdown_read_makes_reads_return_zero() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4300)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4300));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let (_s, _) = l.accept().unwrap();
    c.shutdown(Shutdown::Read).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(c.recv(&mut buf, false), Ok(0));
    assert!(c.readiness().contains(Readiness::IN | Readiness::RDHUP));
    assert!(!c.readiness().contains(Readiness::HUP));
    c.shutdown(Shutdown::Write).unwrap();
    assert!(c.readiness().contains(Readiness::HUP));
}

#[test]
fn revoking_the_creating_capability_kills_its_endpoints() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4400)).unwrap();
    l.listen(1).unwrap();
    let cap7 = Caller {
        rights: NetRights::all(),
        origin: 7,
    };
    let c = net.a.create_tcp(cap7).unwrap();
    let other = net.a.create_udp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4400));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let (s, _) = l.accept().unwrap();
    assert_eq!(net.a.revoke(7), 0, "no waker registered, so nothing woken");
    assert_eq!(c.send(b"x"), Err(NetError::NetDown));
    assert!(c.readiness().contains(Readiness::ERR | Readiness::HUP));
    assert!(
        other.bind(sa(0.into(), 0)).is_ok(),
        "other capability's endpoints live on"
    );
    // The peer sees the connection reset.
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::ERR)));
}

#[test]
fn ephemeral_ports_are_distinct() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 80)).unwrap();
    l.listen(64).unwrap();
    let ports: std::collections::BTreeSet<u16> = (0..50)
        .map(|_| {
            let c = net.a.create_tcp(root()).unwrap();
            let _ = c.connect(sa(B_IP, 80));
            let p = c.local_addr().unwrap().port();
            std::mem::forget(c); // keep the port held
            p
        })
        .collect();
    assert_eq!(ports.len(), 50);
    assert!(ports.iter().all(|p| (32768..=60999).contains(p)));
}

#[test]
fn an_operation_that_makes_the_endpoint_readier_wakes_other_sleepers() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4500)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4500));
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let _s = l.accept().unwrap();
    let sleeper = Arc::new(Counter(AtomicUsize::new(0)));
    c.set_waker(Some(&Waker::from(sleeper.clone())));
    assert!(!c.readiness().contains(Readiness::IN));
    // Another thread shuts down the read side: a reader blocked in recv must wake.
    c.shutdown(Shutdown::Read).unwrap();
    assert_eq!(sleeper.0.load(Ordering::SeqCst), 1);
}

#[test]
fn socket_listing_reports_linux_states_and_queues() {
    use netobj::info::linux_state::*;
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 4600)).unwrap();
    l.listen(5).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 4600));
    let row = |stack: &netobj::NetStack, local: std::net::SocketAddrV4| {
        stack
            .sockets()
            .into_iter()
            .find(|s| s.local == local)
            .unwrap()
    };
    assert_eq!(row(&net.a, c.local_addr().unwrap()).state, SYN_SENT);
    assert!(net.run_until(Duration::from_secs(1), || l
        .readiness()
        .contains(Readiness::IN)));
    let lr = row(&net.b, sa(B_IP, 4600));
    assert_eq!((lr.state, lr.rx_queue, lr.tx_queue), (LISTEN, 1, 5));
    c.send(b"12345").unwrap();
    net.run_for(Duration::from_millis(20));
    let (s, _) = l.accept().unwrap();
    let sr = net
        .b
        .sockets()
        .into_iter()
        .find(|x| x.remote == Some(c.local_addr().unwrap()))
        .unwrap();
    assert_eq!(
        (sr.state, sr.rx_queue, sr.local),
        (ESTABLISHED, 5, sa(B_IP, 4600))
    );
    drop(s); // unread data: RST; the orphan is gone once it went out
    net.run_for(Duration::from_millis(20));
    assert_eq!(row(&net.a, c.local_addr().unwrap()).state, CLOSE);
    let u = net.a.create_udp(root()).unwrap();
    u.connect(sa(B_IP, 53)).unwrap();
    let ur = row(&net.a, u.local_addr().unwrap());
    assert_eq!(
        (ur.kind, ur.state),
        (netobj::EndpointKind::Udp, ESTABLISHED)
    );
}

#[test]
fn window_scaling_keeps_a_long_fat_pipe_full() {
    // 100 ms round trip: a 64 KiB window would cap the transfer at 640 KiB/s, so 8 MiB
    // would take at least 12.8 s; 256 KiB windows (scaled) need about a quarter of that.
    let net = Net::with(0.0, Duration::from_millis(50), 1500);
    let start = net.now();
    transfer(&net, 8 << 20);
    let took = net.now() - start;
    assert!(
        took < Duration::from_secs(6),
        "8 MiB took {took:?} of virtual time"
    );
}
