//! Random sequences of socket operations with random arguments on both stacks, over a
//! lossy, delayed wire: no panic whatever the caller asks, and when every endpoint is
//! closed and the connections have wound down, nothing is left (sockets, orphans,
//! ports).

mod common;

use common::*;
use netobj::{Duration, NetError, Shutdown, SockOpt};
use std::net::{Ipv4Addr, SocketAddrV4};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

enum Ep {
    Tcp(netobj::TcpEndpoint),
    Udp(netobj::UdpEndpoint),
    Icmp(netobj::IcmpEndpoint),
    Raw(netobj::RawEndpoint),
    Packet(netobj::PacketEndpoint),
}

const OPTS: [SockOpt; 15] = [
    SockOpt::ReuseAddr,
    SockOpt::KeepAlive,
    SockOpt::RcvBuf,
    SockOpt::SndBuf,
    SockOpt::Error,
    SockOpt::Type,
    SockOpt::AcceptConn,
    SockOpt::Broadcast,
    SockOpt::TcpNoDelay,
    SockOpt::TcpKeepIdle,
    SockOpt::TcpKeepIntvl,
    SockOpt::TcpKeepCnt,
    SockOpt::IpTtl,
    SockOpt::IpRecvTtl,
    SockOpt::IpRetOpts,
];

fn addr(rng: &mut Rng) -> SocketAddrV4 {
    let ips = [
        A_IP,
        B_IP,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(8, 8, 8, 8),
    ];
    let ports = [0u16, 1, 80, 1023, 1024, 5000, 5001, 5002, 32768, 65535];
    // Mostly addresses that lead somewhere, so connections really happen.
    let ip = if rng.below(5) < 4 {
        ips[rng.below(3) as usize]
    } else {
        ips[rng.below(6) as usize]
    };
    let port = if rng.below(10) < 7 {
        ports[5 + rng.below(3) as usize]
    } else {
        ports[rng.below(10) as usize]
    };
    SocketAddrV4::new(ip, port)
}

fn value(rng: &mut Rng) -> i32 {
    [0, 1, -1, 2, 60, 255, 256, 7280, i32::MAX, i32::MIN][rng.below(10) as usize]
}

fn payload(rng: &mut Rng) -> Vec<u8> {
    let n = [0usize, 1, 7, 8, 64, 1472, 1473, 70_000][rng.below(8) as usize];
    let mut v: Vec<u8> = (0..n).map(|i| i as u8).collect();
    if !v.is_empty() && rng.below(2) == 0 {
        v[0] = 8; // sometimes an echo request
    }
    v
}

#[test]
fn random_operations_never_panic_and_leave_nothing_behind() {
    let net = Net::with(0.02, Duration::from_millis(3), 1500);
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let mut eps: Vec<Ep> = Vec::new();
    let mut buf = vec![0u8; 4096];
    let (mut accepted, mut received) = (0, 0);
    for step in 0..20_000u32 {
        let stack = if rng.below(2) == 0 { &net.a } else { &net.b };
        if eps.len() < 40 && rng.below(8) == 0 {
            let ep = match rng.below(5) {
                0 | 1 => Ep::Tcp(stack.create_tcp(root()).unwrap()),
                2 => Ep::Udp(stack.create_udp(root()).unwrap()),
                3 => Ep::Icmp(stack.create_icmp(root()).unwrap()),
                _ if rng.below(2) == 0 => Ep::Raw(stack.create_raw(root()).unwrap()),
                _ => Ep::Packet(stack.create_packet(root(), netobj::ETH_P_IP).unwrap()),
            };
            eps.push(ep);
        }
        if !eps.is_empty() {
            let i = rng.below(eps.len() as u64) as usize;
            let op = rng.below(12);
            let a = addr(&mut rng);
            let opt = OPTS[rng.below(15) as usize];
            let v = value(&mut rng);
            let data = payload(&mut rng);
            let peek = rng.below(4) == 0;
            match &eps[i] {
                Ep::Tcp(t) => {
                    let _ = match op {
                        0 => t.bind(a).map(|_| 0),
                        1 => t.connect(a).map(|_| 0),
                        2 => t.listen(v).map(|_| 0),
                        3 => t.accept().map(|(e, _)| {
                            eps.push(Ep::Tcp(e));
                            accepted += 1;
                            0
                        }),
                        4 => t.send(&data),
                        5 => t.recv(&mut buf, peek).inspect(|&n| received += n),
                        6 => t
                            .shutdown(
                                [Shutdown::Read, Shutdown::Write, Shutdown::Both]
                                    [rng.below(3) as usize],
                            )
                            .map(|_| 0),
                        7 => t.set_option(opt, v).map(|_| 0),
                        8 => t.option(opt).map(|_| 0),
                        9 => t.peer_addr().map(|_| 0),
                        10 => Ok(t.readiness().bits() as usize),
                        _ => Err(NetError::Invalid),
                    };
                }
                Ep::Udp(u) => {
                    let _ = match op {
                        0 => u.bind(a).map(|_| 0),
                        1 => u.connect(a).map(|_| 0),
                        2 => u.disconnect().map(|_| 0),
                        3 | 4 => u.send_to(&data, (rng.below(2) == 0).then_some(a)),
                        5 => u.recv_from(&mut buf, peek).map(|r| r.copied),
                        6 => u.shutdown(Shutdown::Both).map(|_| 0),
                        7 => u.set_option(opt, v).map(|_| 0),
                        8 => u.option(opt).map(|_| 0),
                        _ => u.local_addr().map(|_| 0),
                    };
                }
                Ep::Icmp(p) => {
                    let _ = match op {
                        0 => p.bind(a).map(|_| 0),
                        1 => p.connect(a).map(|_| 0),
                        2..=4 => p.send_to(&data, Some(a)),
                        5 => p.recv_from(&mut buf, peek).map(|r| r.copied),
                        7 => p.set_option(opt, v).map(|_| 0),
                        _ => p.local_addr().map(|_| 0),
                    };
                }
                Ep::Raw(r) => {
                    let _ = match op {
                        0 => r.bind(a).map(|_| 0),
                        1 => r.connect(a).map(|_| 0),
                        2..=4 => r.send_to(&data, Some(a)),
                        5 => r.recv_from(&mut buf, peek).map(|r| r.copied),
                        _ => r.set_option(opt, v).map(|_| 0),
                    };
                }
                Ep::Packet(p) => {
                    let _ = match op {
                        0..=2 => p.send_to(&data, [0xff; 6]),
                        _ => p.recv_from(&mut buf, peek).map(|r| r.copied),
                    };
                }
            }
            if rng.below(30) == 0 {
                eps.swap_remove(i); // close
            }
        }
        if step % 8 == 0 {
            net.step(Duration::from_millis(rng.below(50)));
        }
    }
    // The random walk really exercised connections, not just error paths.
    assert!(
        accepted >= 5 && received > 0,
        "accepted {accepted}, received {received}"
    );
    drop(eps);
    // Everything winds down: orphans finish (or hit their 60 s limit), ports are freed.
    net.run_for(Duration::from_secs(200));
    for s in [&net.a, &net.b] {
        let st = s.stats();
        assert_eq!((st.endpoints, st.sockets, st.orphans), (0, 0, 0), "{st:?}");
        let t = s.create_tcp(root()).unwrap();
        t.bind(sa(0.into(), 5000)).unwrap();
        let u = s.create_udp(root()).unwrap();
        u.bind(sa(0.into(), 5000)).unwrap();
        let p = s.create_icmp(root()).unwrap();
        p.bind(sa(0.into(), 5000)).unwrap();
    }
}
