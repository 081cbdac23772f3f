//! A listener under a SYN flood from spoofed addresses: the half-open connections fill
//! its backlog and never complete; real clients must still get in (Linux: SYN cookies;
//! netobj: the oldest half-open connection is dropped for a new SYN, see `tcp::listen`).

mod common;

use std::net::Ipv4Addr;

use common::*;
use netobj::{Duration, Readiness};

/// An Ethernet/IPv4/TCP SYN from `src`:`sport` to B:`dport`, checksums filled in.
fn spoofed_syn(src: Ipv4Addr, sport: u16, dport: u16, dst_mac: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0x66, 0x66]);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&B_IP.octets());
    let c = netobj::internet_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(&[2, 4, 0x05, 0xb4]);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&B_IP.octets());
    pseudo.extend_from_slice(&[0, 6, 0, 24]);
    pseudo.extend_from_slice(&t);
    let c = netobj::internet_checksum(&pseudo);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&t);
    f
}

#[test]
fn listener_accepts_real_clients_while_flooded_with_spoofed_syns() {
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 8000)).unwrap();
    l.listen(8).unwrap();
    let b_mac = [0x02, 0, 0, 0, 0, 2];
    // 64 SYNs from addresses on the network that never answer (no ARP reply, so no
    // SYN-ACK ever leaves): every half-open slot is taken, 8 times over.
    for i in 0..64u16 {
        let src = Ipv4Addr::new(10, 0, 0, 100 + (i % 100) as u8);
        net.wire
            .inject(1, spoofed_syn(src, 20_000 + i, 8000, b_mac));
        net.settle();
    }
    assert!(net
        .b
        .sockets()
        .iter()
        .any(|s| s.local.port() == 8000 && s.state == netobj::info::linux_state::LISTEN));
    // The flood keeps coming, faster than the backlog drains on its own (63 s).
    let mut flood = 64u16;
    let mut more_flood = |net: &Net| {
        for _ in 0..4 {
            let src = Ipv4Addr::new(10, 0, 0, 100 + (flood % 100) as u8);
            net.wire
                .inject(1, spoofed_syn(src, 20_000 + flood, 8000, b_mac));
            flood += 1;
        }
    };
    net.run_for(Duration::from_millis(1500));
    more_flood(&net);
    // Three real clients connect one after another during the flood; each gets in within
    // a few seconds (one SYN retransmission at most), not after the 63 s SYN_RECV timeout.
    for k in 0..3 {
        let c = net.a.create_tcp(root()).unwrap();
        let _ = c.connect(sa(B_IP, 8000));
        let start = net.now();
        let mut accepted = None;
        let ok = net.run_until(Duration::from_secs(10), || {
            if accepted.is_none() {
                accepted = l.accept().ok();
            }
            accepted.is_some() && c.readiness().contains(Readiness::OUT)
        });
        assert!(ok, "real client {k} did not get in during the flood");
        assert!(c.connect(sa(B_IP, 8000)).is_ok());
        println!(
            "client {k} in after {} ms",
            (net.now() - start).total_millis()
        );
        more_flood(&net);
        net.run_for(Duration::from_millis(1200));
        more_flood(&net);
    }
}

#[test]
fn a_burst_of_real_clients_does_not_evict_its_own_half_open_connections() {
    // Eight clients at once against backlog 2: the first three get in, the rest wait for
    // accept() (their SYNs are dropped, not answered with RST), none errors.
    let net = Net::new();
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 8001)).unwrap();
    l.listen(2).unwrap();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let c = net.a.create_tcp(root()).unwrap();
            let _ = c.connect(sa(B_IP, 8001));
            c
        })
        .collect();
    let mut accepted = vec![];
    assert!(net.run_until(Duration::from_secs(60), || {
        while let Ok((s, _)) = l.accept() {
            accepted.push(s);
        }
        accepted.len() == 8
    }));
    assert!(clients
        .iter()
        .all(|c| !c.readiness().contains(Readiness::ERR)));
}
