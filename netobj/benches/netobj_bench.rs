//! Benchmarks (not timed tests): bulk TCP throughput and small-message round trips
//! between two NetStacks on the in-memory wire, in wall-clock time.
//!
//! Run: `cargo bench -p netobj` (prints MiB/s and µs; no pass/fail).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant as WallClock;

use common::*;
use netobj::{Duration, Instant, NetError, Readiness, Shutdown, SockOpt, TcpEndpoint};

/// Drive both stacks with the virtual clock following the wall clock.
struct Driver<'a> {
    net: &'a Net,
    start: WallClock,
}

impl Driver<'_> {
    fn poll(&self) {
        let t =
            Instant::from_secs(1) + Duration::from_micros(self.start.elapsed().as_micros() as u64);
        self.net.clock.set(t);
        self.net.a.poll(t);
        self.net.b.poll(t);
    }
}

fn pair(net: &Net, d: &Driver, port: u16) -> (TcpEndpoint, TcpEndpoint) {
    pair_on(net, d, port, false)
}

/// A connected pair: A -> B over the wire, or both on A over loopback.
fn pair_on(net: &Net, d: &Driver, port: u16, loopback: bool) -> (TcpEndpoint, TcpEndpoint) {
    let (server, ip) = if loopback {
        (&net.a, std::net::Ipv4Addr::LOCALHOST)
    } else {
        (&net.b, B_IP)
    };
    let l = server.create_tcp(root()).unwrap();
    l.bind(sa(ip, port)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    c.set_option(SockOpt::TcpNoDelay, 1).unwrap();
    let _ = c.connect(sa(ip, port));
    loop {
        d.poll();
        if let Ok((s, _)) = l.accept() {
            s.set_option(SockOpt::TcpNoDelay, 1).unwrap();
            return (c, s);
        }
    }
}

fn bulk(mtu: usize, total: usize, loopback: bool) -> f64 {
    let net = Net::with(0.0, Duration::from_millis(0), mtu);
    let d = Driver {
        net: &net,
        start: WallClock::now(),
    };
    let (c, s) = pair_on(&net, &d, 5001, loopback);
    let chunk = vec![0x5a; 256 * 1024];
    let mut buf = vec![0u8; 256 * 1024];
    let (mut sent, mut got) = (0usize, 0usize);
    let t0 = WallClock::now();
    loop {
        while sent < total {
            match c.send(&chunk[..chunk.len().min(total - sent)]) {
                Ok(n) => sent += n,
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        if sent == total {
            let _ = c.shutdown(Shutdown::Write);
        }
        d.poll();
        loop {
            match s.recv(&mut buf, false) {
                Ok(0) => {
                    let secs = t0.elapsed().as_secs_f64();
                    assert_eq!(got, total);
                    return got as f64 / (1024.0 * 1024.0) / secs;
                }
                Ok(n) => got += n,
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
    }
}

fn rtt(rounds: usize, size: usize) -> f64 {
    let net = Net::new();
    let d = Driver {
        net: &net,
        start: WallClock::now(),
    };
    let (c, s) = pair(&net, &d, 5002);
    let msg = vec![1u8; size];
    let mut buf = vec![0u8; 4096];
    let t0 = WallClock::now();
    for _ in 0..rounds {
        c.send(&msg).unwrap();
        let mut got = 0;
        while got < size {
            d.poll();
            if let Ok(n) = s.recv(&mut buf, false) {
                got += n;
            }
        }
        s.send(&msg).unwrap();
        let mut got = 0;
        while got < size {
            d.poll();
            if let Ok(n) = c.recv(&mut buf, false) {
                got += n;
            }
        }
    }
    assert!(c.readiness().contains(Readiness::OUT));
    t0.elapsed().as_secs_f64() * 1e6 / rounds as f64
}

fn udp_rtt(rounds: usize) -> f64 {
    let net = Net::new();
    let d = Driver {
        net: &net,
        start: WallClock::now(),
    };
    let srv = net.b.create_udp(root()).unwrap();
    srv.bind(sa(B_IP, 7)).unwrap();
    let cli = net.a.create_udp(root()).unwrap();
    cli.connect(sa(B_IP, 7)).unwrap();
    let mut buf = [0u8; 64];
    // Warm the ARP cache.
    cli.send_to(b"x", None).unwrap();
    while srv.recv_from(&mut buf, false).is_err() {
        d.poll();
    }
    let t0 = WallClock::now();
    for _ in 0..rounds {
        cli.send_to(&[9u8; 32], None).unwrap();
        let from = loop {
            d.poll();
            if let Ok(r) = srv.recv_from(&mut buf, false) {
                break r.from;
            }
        };
        srv.send_to(&[9u8; 32], Some(from)).unwrap();
        while cli.recv_from(&mut buf, false).is_err() {
            d.poll();
        }
    }
    t0.elapsed().as_secs_f64() * 1e6 / rounds as f64
}

fn main() {
    // `cargo test --benches` runs this too; keep that quick.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var("NETOBJ_BENCH_QUICK").is_ok();
    let scale = if quick { 1 } else { 16 };
    println!("netobj benchmarks (two NetStacks, in-memory wire, wall clock)");
    for mtu in [1500usize, 9000, 65_535] {
        let mib = bulk(mtu, (scale * 16) << 20, false);
        println!(
            "  tcp bulk, mtu {mtu:>5}: {mib:8.1} MiB/s ({} MiB)",
            scale * 16
        );
    }
    let mib = bulk(1500, (scale * 16) << 20, true);
    println!("  tcp bulk, loopback 127.0.0.1 on one stack (device mtu 1500): {mib:8.1} MiB/s");
    let rounds = if quick { 1000 } else { 20_000 };
    println!(
        "  tcp round trip, 1 byte:   {:6.2} µs ({rounds} rounds)",
        rtt(rounds, 1)
    );
    println!("  tcp round trip, 64 bytes: {:6.2} µs", rtt(rounds, 64));
    println!("  udp round trip, 32 bytes: {:6.2} µs", udp_rtt(rounds));
    println!(
        "NetStack <-> Linux over a TAP device (MTU {}) in a private network namespace",
        common::tap::TAP_MTU
    );
    match common::tap::unavailable() {
        Some(why) => println!("  skipped: {why}"),
        None => {
            let total = (scale * 64) << 20;
            let up = common::tap::tap_throughput(true, total);
            let down = common::tap::tap_throughput(false, total);
            println!(
                "  tcp bulk NetStack -> Linux: {up:8.1} MiB/s ({} MiB)",
                total >> 20
            );
            println!("  tcp bulk Linux -> NetStack: {down:8.1} MiB/s");
            let up = common::tap::tap_throughput_mtu(true, total / 4, 1500);
            let down = common::tap::tap_throughput_mtu(false, total / 4, 1500);
            println!("  at MTU 1500: NetStack -> Linux {up:8.1} MiB/s, Linux -> NetStack {down:8.1} MiB/s");
            println!(
                "  tcp round trip, 32 bytes:  {:6.2} µs",
                common::tap::tap_rtt(rounds / 4)
            );
        }
    }
}
