//! UDP, ping, raw ICMP and packet endpoints between two stacks, with Linux's errnos.

mod common;

use common::*;
use netobj::{Caller, Duration, NetError, NetRights, Readiness, SockOpt};
use std::net::Ipv4Addr;

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

#[test]
fn udp_sendto_recvfrom_reports_the_source_and_connect_fixes_getsockname() {
    let net = Net::new();
    let srv = net.b.create_udp(root()).unwrap();
    srv.bind(sa(0.into(), 53)).unwrap();
    let cli = net.a.create_udp(root()).unwrap();
    assert_eq!(cli.local_addr(), Ok(sa(0.into(), 0)));
    cli.connect(sa(B_IP, 53)).unwrap();
    // musl's DNS check: the socket sends from the interface address, never 0.0.0.0.
    let local = cli.local_addr().unwrap();
    assert_eq!(*local.ip(), A_IP);
    assert!(netobj::EPHEMERAL_PORTS.contains(&local.port()));
    assert_eq!(cli.send_to(b"query", None), Ok(5));
    assert!(net.run_until(Duration::from_secs(1), || srv
        .readiness()
        .contains(Readiness::IN)));
    let mut buf = [0u8; 3];
    let r = srv.recv_from(&mut buf, true).unwrap();
    assert_eq!((r.copied, r.len, r.from), (3, 5, local)); // MSG_PEEK, truncated
    let mut buf = [0u8; 64];
    let r = srv.recv_from(&mut buf, false).unwrap();
    assert_eq!((r.copied, r.from), (5, local));
    assert_eq!(srv.recv_from(&mut buf, false), Err(NetError::WouldBlock));
    srv.send_to(b"answer", Some(r.from)).unwrap();
    assert!(net.run_until(Duration::from_secs(1), || cli
        .readiness()
        .contains(Readiness::IN)));
    let r = cli.recv_from(&mut buf, false).unwrap();
    assert_eq!((r.copied, r.from), (6, sa(B_IP, 53)));
}

#[test]
fn udp_connected_socket_only_hears_its_peer() {
    let net = Net::new();
    let cli = net.a.create_udp(root()).unwrap();
    cli.bind(sa(0.into(), 4000)).unwrap();
    cli.connect(sa(B_IP, 53)).unwrap();
    let stranger = net.b.create_udp(root()).unwrap();
    stranger.bind(sa(0.into(), 54)).unwrap();
    stranger.send_to(b"spoof", Some(sa(A_IP, 4000))).unwrap();
    net.run_for(Duration::from_millis(50));
    let mut buf = [0u8; 16];
    assert_eq!(cli.recv_from(&mut buf, false), Err(NetError::WouldBlock));
}

#[test]
fn udp_port_unreachable_gives_econnrefused_on_a_connected_socket() {
    let net = Net::new();
    let cli = net.a.create_udp(root()).unwrap();
    cli.connect(sa(B_IP, 9999)).unwrap();
    cli.send_to(b"anyone?", None).unwrap();
    assert!(net.run_until(Duration::from_secs(1), || cli
        .readiness()
        .contains(Readiness::ERR)));
    let mut buf = [0u8; 16];
    assert_eq!(cli.recv_from(&mut buf, false), Err(NetError::ConnRefused));
    assert_eq!(cli.recv_from(&mut buf, false), Err(NetError::WouldBlock));
    cli.send_to(b"again", None).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(cli.option(SockOpt::Error), Ok(111));
    // An unconnected socket ignores the error, as Linux does without IP_RECVERR.
    let free = net.a.create_udp(root()).unwrap();
    free.send_to(b"x", Some(sa(B_IP, 9998))).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(free.option(SockOpt::Error), Ok(0));
    assert_eq!(free.send_to(b"y", Some(sa(B_IP, 9998))), Ok(1));
}

#[test]
fn udp_errors() {
    let net = Net::new();
    let u = net.a.create_udp(root()).unwrap();
    assert_eq!(u.send_to(b"x", None), Err(NetError::DestAddrRequired));
    assert_eq!(
        u.send_to(&[0u8; 1473], Some(sa(B_IP, 7))),
        Err(NetError::MsgSize)
    );
    assert_eq!(u.send_to(&[0u8; 1472], Some(sa(B_IP, 7))), Ok(1472));
    assert_eq!(
        u.send_to(b"x", Some(sa(Ipv4Addr::BROADCAST, 67))),
        Err(NetError::AccessDenied)
    );
    u.set_option(SockOpt::Broadcast, 1).unwrap();
    assert_eq!(u.send_to(b"x", Some(sa(Ipv4Addr::BROADCAST, 67))), Ok(1));
    assert_eq!(u.send_to(b"x", Some(sa(B_IP, 0))), Err(NetError::Invalid));
    assert_eq!(
        u.send_to(b"x", Some(sa([192, 168, 9, 9].into(), 7))),
        Err(NetError::NetUnreach)
    );
    let a = net.a.create_udp(root()).unwrap();
    let b = net.a.create_udp(root()).unwrap();
    a.bind(sa(0.into(), 5353)).unwrap();
    assert_eq!(b.bind(sa(LO, 5353)), Err(NetError::AddrInUse));
    assert_eq!(b.bind(sa(B_IP, 5353)), Err(NetError::AddrNotAvail));
    assert_eq!(a.option(SockOpt::RcvBuf), Ok(212_992));
    assert_eq!(
        a.set_option(SockOpt::TcpNoDelay, 1),
        Err(NetError::NoProtoOpt)
    );
    assert_eq!(a.peer_addr(), Err(NetError::NotConnected));
    drop(a);
    assert_eq!(b.bind(sa(0.into(), 5353)), Ok(()), "close frees the port");
}

#[test]
fn udp_loopback() {
    let net = Net::new();
    let s = net.a.create_udp(root()).unwrap();
    s.bind(sa(LO, 7000)).unwrap();
    let c = net.a.create_udp(root()).unwrap();
    c.send_to(b"lo", Some(sa(LO, 7000))).unwrap();
    assert_eq!(*c.local_addr().unwrap().ip(), Ipv4Addr::UNSPECIFIED);
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::IN)));
    let mut buf = [0u8; 8];
    let r = s.recv_from(&mut buf, false).unwrap();
    assert_eq!(*r.from.ip(), LO);
    assert_eq!(net.b.stats().link.rx_frames, 0);
    // Loopback has Linux's 64 KiB MTU: a 60 000-byte datagram goes through whole.
    let big = vec![0x5au8; 60_000];
    assert_eq!(c.send_to(&big, Some(sa(LO, 7000))), Ok(60_000));
    assert_eq!(
        c.send_to(&[0u8; 65_508], Some(sa(LO, 7000))),
        Err(NetError::MsgSize)
    );
    assert!(net.run_until(Duration::from_secs(1), || s
        .readiness()
        .contains(Readiness::IN)));
    let mut buf = vec![0u8; 65_536];
    assert_eq!(s.recv_from(&mut buf, false).unwrap().copied, 60_000);
}

fn echo(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

#[test]
fn ping_socket_semantics() {
    let net = Net::new();
    let user = Caller::with_rights(NetRights::UNPRIVILEGED);
    // busybox: raw first (EPERM without RAW), then the ping socket.
    assert!(matches!(
        net.a.create_raw(user),
        Err(NetError::PermissionDenied)
    ));
    let p = net.a.create_icmp(user).unwrap();
    p.bind(sa(0.into(), 0)).unwrap();
    let ident = p.local_addr().unwrap().port();
    assert_ne!(ident, 0);
    p.set_option(SockOpt::Broadcast, 1).unwrap();
    p.set_option(SockOpt::RcvBuf, 7280).unwrap();
    p.set_option(SockOpt::IpRecvTtl, 1).unwrap();
    assert_eq!(p.option(SockOpt::RcvBuf), Ok(14_560));
    // Only echo requests of at least 8 bytes.
    assert_eq!(
        p.send_to(&[8, 0, 0, 0, 0, 0, 0], Some(sa(B_IP, 0))),
        Err(NetError::Invalid)
    );
    assert_eq!(
        p.send_to(&[0u8; 8], Some(sa(B_IP, 0))),
        Err(NetError::Invalid)
    );
    let mut reply_type = echo(1, 1, b"");
    reply_type[0] = 0;
    assert_eq!(
        p.send_to(&reply_type, Some(sa(B_IP, 0))),
        Err(NetError::Invalid)
    );
    // The id we pass is overwritten with the ident; the checksum is ours to ignore.
    let req = echo(0xdead, 7, &[0xab; 56]);
    assert_eq!(p.send_to(&req, Some(sa(B_IP, 0))), Ok(64));
    assert!(net.run_until(Duration::from_secs(1), || p
        .readiness()
        .contains(Readiness::IN)));
    let mut buf = [0u8; 192];
    let r = p.recv_from(&mut buf, false).unwrap();
    assert_eq!(r.copied, 64, "no IP header");
    assert_eq!(r.from, sa(B_IP, 0));
    assert_eq!(buf[0], 0, "echo reply");
    assert_eq!(u16::from_be_bytes([buf[4], buf[5]]), ident);
    assert_eq!(u16::from_be_bytes([buf[6], buf[7]]), 7);
    assert_eq!(netobj::internet_checksum(&buf[..64]), 0);
    assert_eq!(p.recv_from(&mut buf, false), Err(NetError::WouldBlock));
}

#[test]
fn ping_idents_are_unique_and_replies_reach_only_their_socket() {
    let net = Net::new();
    let p1 = net.a.create_icmp(root()).unwrap();
    let p2 = net.a.create_icmp(root()).unwrap();
    p1.bind(sa(0.into(), 4242)).unwrap();
    assert_eq!(p2.bind(sa(0.into(), 4242)), Err(NetError::AddrInUse));
    // Unbound: the first send picks an ident.
    p2.send_to(&echo(0, 1, b"two"), Some(sa(B_IP, 0))).unwrap();
    let id2 = p2.local_addr().unwrap().port();
    assert_ne!(id2, 4242);
    p1.send_to(&echo(0, 1, b"one"), Some(sa(B_IP, 0))).unwrap();
    net.run_for(Duration::from_millis(50));
    let mut buf = [0u8; 64];
    let r1 = p1.recv_from(&mut buf, false).unwrap();
    assert_eq!(&buf[8..r1.copied], b"one");
    assert_eq!(p1.recv_from(&mut buf, false), Err(NetError::WouldBlock));
    let r2 = p2.recv_from(&mut buf, false).unwrap();
    assert_eq!(&buf[8..r2.copied], b"two");
    drop(p1);
    let p3 = net.a.create_icmp(root()).unwrap();
    assert_eq!(
        p3.bind(sa(0.into(), 4242)),
        Ok(()),
        "closing frees the ident"
    );
}

#[test]
fn ping_loopback_sees_only_the_reply() {
    let net = Net::new();
    let p = net.a.create_icmp(root()).unwrap();
    p.bind(sa(0.into(), 0)).unwrap();
    p.send_to(&echo(0, 3, b"lo"), Some(sa(LO, 0))).unwrap();
    net.run_for(Duration::from_millis(10));
    let mut buf = [0u8; 64];
    let r = p.recv_from(&mut buf, false).unwrap();
    assert_eq!(
        (buf[0], r.from),
        (0, sa(LO, 0)),
        "the reply, not our own request"
    );
    assert_eq!(p.recv_from(&mut buf, false), Err(NetError::WouldBlock));
}

#[test]
fn raw_icmp_receives_with_the_ip_header() {
    let net = Net::new();
    let raw = net.a.create_raw(root()).unwrap();
    let mut req = echo(0x77, 1, &[0x11; 56]);
    let c = netobj::internet_checksum(&req);
    req[2..4].copy_from_slice(&c.to_be_bytes());
    assert_eq!(raw.send_to(&req, Some(sa(B_IP, 0))), Ok(64));
    net.run_for(Duration::from_millis(50));
    let mut buf = [0u8; 192];
    let r = raw.recv_from(&mut buf, false).unwrap();
    assert_eq!(r.copied, 84, "20-byte IP header + 64");
    assert_eq!(buf[0], 0x45);
    assert_eq!(&buf[12..16], &B_IP.octets());
    assert_eq!(buf[20], 0, "echo reply");
    assert_eq!(
        u16::from_be_bytes([buf[24], buf[25]]),
        0x77,
        "raw sockets keep the id"
    );
}

#[test]
fn packet_endpoint_sees_ip_packets_and_sends_raw_frames() {
    let net = Net::new();
    assert!(matches!(
        net.a.create_packet(root(), 0x86dd),
        Err(NetError::Invalid)
    ));
    let pk = net.a.create_packet(root(), netobj::ETH_P_IP).unwrap();
    let u = net.b.create_udp(root()).unwrap();
    u.send_to(b"dhcp-ish", Some(sa(A_IP, 68))).unwrap();
    net.run_for(Duration::from_millis(10));
    let mut buf = [0u8; 128];
    let r = pk.recv_from(&mut buf, false).unwrap();
    assert_eq!(r.copied, 20 + 8 + 8);
    assert_eq!(buf[9], 17, "UDP");
    assert_eq!(r.src_mac, [2, 0, 0, 0, 0, 2]);
    // Send a hand-made UDP datagram to B as a DHCP client would, before having an address.
    let srv = net.b.create_udp(root()).unwrap();
    srv.bind(sa(0.into(), 6767)).unwrap();
    let mut pkt = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
    pkt.extend_from_slice(&A_IP.octets());
    pkt.extend_from_slice(&B_IP.octets());
    let payload = b"hello";
    let total = (20 + 8 + payload.len()) as u16;
    pkt[2..4].copy_from_slice(&total.to_be_bytes());
    let c = netobj::internet_checksum(&pkt);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    pkt.extend_from_slice(&68u16.to_be_bytes());
    pkt.extend_from_slice(&6767u16.to_be_bytes());
    pkt.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    pkt.extend_from_slice(&[0, 0]); // no UDP checksum
    pkt.extend_from_slice(payload);
    assert_eq!(pk.send_to(&pkt, [2, 0, 0, 0, 0, 2]), Ok(pkt.len()));
    net.run_for(Duration::from_millis(10));
    let r = srv.recv_from(&mut buf, false).unwrap();
    assert_eq!((&buf[..r.copied], r.from), (&payload[..], sa(A_IP, 68)));
}

#[test]
fn configure_moves_the_address_and_gateway() {
    let net = Net::new();
    let user = Caller::with_rights(NetRights::UNPRIVILEGED);
    let cfg = netobj::Configure::Address(Some(([10, 0, 0, 9].into(), 24)));
    assert_eq!(net.a.configure(user, cfg), Err(NetError::PermissionDenied));
    net.a.configure(root(), cfg).unwrap();
    net.a
        .configure(root(), netobj::Configure::Gateway(Some(B_IP)))
        .unwrap();
    let st = net.a.stats();
    assert_eq!(st.address, Some(([10, 0, 0, 9].into(), 24)));
    assert_eq!(st.gateway, Some(B_IP));
    let u = net.a.create_udp(root()).unwrap();
    u.connect(sa([8, 8, 8, 8].into(), 53)).unwrap();
    assert_eq!(*u.local_addr().unwrap().ip(), Ipv4Addr::new(10, 0, 0, 9));
}

#[test]
fn a_nonsense_prefix_in_the_config_does_not_panic() {
    let cfg = netobj::StackConfig {
        address: Some((A_IP, 77)),
        ..config(A_IP, 5)
    };
    let net = Net::with_config(0.0, Duration::from_millis(0), 1500, cfg, config(B_IP, 6));
    assert_eq!(net.a.stats().address, Some((A_IP, 32)));
    let u = net.a.create_udp(root()).unwrap();
    assert_eq!(
        u.connect(sa(B_IP, 53)),
        Err(NetError::NetUnreach),
        "a /32 has no neighbours"
    );
}

#[test]
fn a_stack_without_an_address_hears_dhcp_broadcasts_on_a_packet_endpoint() {
    // udhcpc's situation: no address yet, a packet socket, the server broadcasting.
    let unconfigured = netobj::StackConfig {
        address: None,
        ..config(A_IP, 9)
    };
    let net = Net::with_config(
        0.0,
        Duration::from_millis(1),
        1500,
        unconfigured,
        config(B_IP, 8),
    );
    let pk = net.a.create_packet(root(), netobj::ETH_P_IP).unwrap();
    let u = net.a.create_udp(root()).unwrap();
    assert_eq!(
        u.connect(sa(B_IP, 67)),
        Err(NetError::NetUnreach),
        "no address, no route"
    );
    let server = net.b.create_udp(root()).unwrap();
    server.bind(sa(0.into(), 67)).unwrap();
    server.set_option(SockOpt::Broadcast, 1).unwrap();
    assert_eq!(
        server.send_to(b"DHCPOFFER", Some(sa(Ipv4Addr::BROADCAST, 68))),
        Ok(9)
    );
    net.run_for(Duration::from_millis(10));
    let mut buf = [0u8; 128];
    let r = pk.recv_from(&mut buf, false).unwrap();
    assert_eq!(&buf[16..20], &Ipv4Addr::BROADCAST.octets());
    assert_eq!(&buf[28..r.copied], b"DHCPOFFER");
    // Once configured (as udhcpc's script would, through Configure), UDP works.
    net.a
        .configure(root(), netobj::Configure::Address(Some((A_IP, 24))))
        .unwrap();
    assert_eq!(u.connect(sa(B_IP, 67)), Ok(()));
    assert_eq!(*u.local_addr().unwrap().ip(), A_IP);
}

#[test]
fn a_downed_link_carries_nothing_and_loses_its_default_route() {
    use netobj::stack::Configure;
    let net = Net::new();
    net.a
        .configure(root(), Configure::Gateway(Some(B_IP)))
        .unwrap();
    let rx = net.b.create_udp(root()).unwrap();
    rx.bind(sa(B_IP, 7000)).unwrap();
    let tx = net.a.create_udp(root()).unwrap();
    assert_eq!(tx.send_to(b"up", Some(sa(B_IP, 7000))), Ok(2));
    let ready = |s: &netobj::UdpEndpoint| s.readiness().contains(Readiness::IN);
    assert!(net.run_until(Duration::from_secs(1), || ready(&rx)));
    let mut buf = [0u8; 8];
    assert_eq!(rx.recv_from(&mut buf, false).map(|r| r.copied), Ok(2));

    // Down: the address is not used (other hosts are unreachable), nothing reaches the
    // wire, the default route is gone; loopback still works.
    net.a.configure(root(), Configure::LinkUp(false)).unwrap();
    assert!(!net.a.config().link_up);
    assert_eq!(net.a.config().gateway, None);
    assert_eq!(net.a.config().address.map(|a| a.0), Some(A_IP));
    let sent = net.a.stats().link.tx_frames;
    assert_eq!(
        tx.send_to(b"down", Some(sa(B_IP, 7000))),
        Err(NetError::NetUnreach)
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.a.stats().link.tx_frames, sent);
    let lo = net.a.create_udp(root()).unwrap();
    lo.bind(sa(LO, 7001)).unwrap();
    let lo_tx = net.a.create_udp(root()).unwrap();
    assert_eq!(lo_tx.send_to(b"lo", Some(sa(LO, 7001))), Ok(2));
    assert!(net.run_until(Duration::from_secs(1), || ready(&lo)));
    assert_eq!(lo.recv_from(&mut buf, false).map(|r| r.copied), Ok(2));

    // Up again: the address is back, the route is not (as Linux).
    net.a.configure(root(), Configure::LinkUp(true)).unwrap();
    assert_eq!(net.a.config().gateway, None);
    assert_eq!(tx.send_to(b"again", Some(sa(B_IP, 7000))), Ok(5));
    assert!(net.run_until(Duration::from_secs(1), || ready(&rx)));
    assert_eq!(rx.recv_from(&mut buf, false).map(|r| r.copied), Ok(5));
}
