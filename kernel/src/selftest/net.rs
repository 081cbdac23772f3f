//! `selftest=net`: the virtio-net driver under a real NetStack, on the test network of
//! `writ-run --net tap` (qemu/src/testnet.rs): static address 192.168.77.2/24, gateway
//! 192.168.77.1. Pings the test host through a ping socket and reports each RTT, then
//! fetches `/32m.bin` over HTTP twice: once hashing it (sha256 and size are printed for
//! the host to compare) and once only counting bytes, for the throughput.
//!
//! `selftest=netserve` keeps the stack running afterwards (answering pings, and an echo
//! service on TCP ports 7 and 8) and prints a heartbeat with the link counters every second,
//! so a host-side test can throw hostile frames at the guest and check it survives.
//!
//! The stack is driven as the kernel's network thread will drive it: `poll`, then sleep
//! until the device interrupts or `poll_at` comes; there is no fixed tick.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, Ordering};

use netobj::{Caller, Instant, NetError, NetStack, StackConfig};

use super::Outcome;
use crate::{time, waits};

const HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 1);
const ME: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 2);
const PINGS: u16 = 5;
const FILE: &str = "/32m.bin";

/// The wait key the interrupt callback wakes (a fixed key outside the object-id space).
const KEY_NET: u64 = (1 << 62) | 0x6e65_7464;
static IRQ: AtomicBool = AtomicBool::new(false);
static STACK: spin::Mutex<Option<NetStack>> = spin::Mutex::new(None);

/// The driver's interrupt callback: interrupt-safe (a flag and a wake-up).
fn on_interrupt() {
    IRQ.store(true, Ordering::Release);
    waits::wake(KEY_NET);
}

fn now() -> Instant {
    Instant::from_micros((time::uptime_ns() / 1000) as i64)
}

fn ms_since(t0: u64) -> f64 {
    (time::uptime_ns() - t0) as f64 / 1e6
}

/// One round: sleep until the device interrupts, the stack's next deadline, or
/// `limit_ns` (uptime), whichever is first; then poll. The interrupt flag is cleared
/// just before the poll, so a frame arriving after it leaves the flag set and the next
/// round does not sleep.
fn step(stack: &NetStack, limit_ns: u64) {
    if !IRQ.load(Ordering::Acquire) {
        let next = stack.poll_at(now()).map_or(u64::MAX, |at| {
            (at.total_micros().max(0) as u64).saturating_mul(1000)
        });
        let deadline = next.min(limit_ns);
        if deadline > time::uptime_ns() {
            waits::wake_at(deadline, KEY_NET);
            waits::wait(KEY_NET, &mut || {
                IRQ.load(Ordering::Acquire) || time::uptime_ns() >= deadline
            });
        }
    }
    IRQ.store(false, Ordering::Release);
    stack.poll(now());
}

fn stack() -> Result<NetStack, String> {
    let mut slot = STACK.lock();
    if let Some(s) = slot.as_ref() {
        return Ok(s.clone());
    }
    let dev = crate::virtio_net::probe(on_interrupt).ok_or("no usable virtio-net device")?;
    let config = StackConfig {
        address: Some((ME, 24)),
        gateway: Some(HOST),
        ..StackConfig::default()
    };
    let s = NetStack::new(dev, config, now());
    *slot = Some(s.clone());
    Ok(s)
}

pub fn run() -> Outcome {
    let stack = stack()?;
    let rtts = ping(&stack)?;
    let (size, digest, secs_hashed) = http_get(&stack, true)?;
    log::info!(
        "selftest net: GET {FILE} size={size} sha256={} ({:.1} MiB/s while hashing)",
        hex(&digest),
        size as f64 / (1 << 20) as f64 / secs_hashed
    );
    let (size2, _, secs) = http_get(&stack, false)?;
    if size2 != size {
        return Err(format!("second GET gave {size2} bytes, first {size}"));
    }
    let mibs = size as f64 / (1 << 20) as f64 / secs;
    log::info!("selftest net: throughput {mibs:.1} MiB/s ({size} bytes in {secs:.3} s)");
    let st = stack.stats();
    let avg = rtts.iter().sum::<f64>() / rtts.len() as f64;
    let min = rtts.iter().copied().fold(f64::MAX, f64::min);
    // The median of the pings after the first (which waits for ARP).
    let mut warm = rtts[1..].to_vec();
    warm.sort_by(|a, b| a.total_cmp(b));
    let median = warm.get(warm.len() / 2).copied().unwrap_or(avg);
    Ok(format!(
        "ping {} answered, rtt min {min:.3} avg {avg:.3} median-after-ARP {median:.3} ms; GET {size} bytes at {mibs:.1} MiB/s; link rx {} frames tx {} frames dropped rx {} tx {}; {} interrupts",
        rtts.len(),
        st.link.rx_frames,
        st.link.tx_frames,
        st.link.rx_dropped,
        st.link.tx_dropped,
        crate::virtio_net::interrupts()
    ))
}

fn ping(stack: &NetStack) -> Result<alloc::vec::Vec<f64>, String> {
    let icmp = stack
        .create_icmp(Caller::root())
        .map_err(|e| format!("ping socket: {e:?}"))?;
    let dest = SocketAddrV4::new(HOST, 0);
    let mut rtts = alloc::vec::Vec::new();
    for seq in 1..=PINGS {
        let mut req = [0u8; 64];
        req[0] = 8;
        req[6..8].copy_from_slice(&seq.to_be_bytes());
        for (i, b) in req[8..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let t0 = time::uptime_ns();
        icmp.send_to(&req, Some(dest))
            .map_err(|e| format!("ping send: {e:?}"))?;
        let limit = t0 + 2_000_000_000;
        let mut buf = [0u8; 128];
        loop {
            match icmp.recv_from(&mut buf, false) {
                Ok(r) if r.copied >= 8 && buf[0] == 0 && buf[6..8] == seq.to_be_bytes() => {
                    let ms = ms_since(t0);
                    log::info!(
                        "selftest net: {} bytes from {}: icmp_seq={seq} time={ms:.3} ms",
                        r.len,
                        r.from.ip()
                    );
                    rtts.push(ms);
                    break;
                }
                Ok(_) => continue,
                Err(NetError::WouldBlock) => {}
                Err(e) => return Err(format!("ping recv: {e:?}")),
            }
            if time::uptime_ns() >= limit {
                return Err(format!("no echo reply to icmp_seq={seq} within 2 s"));
            }
            step(stack, limit);
        }
        // Linux's ping waits a second between requests; a tenth is enough here.
        let pause = time::uptime_ns() + 100_000_000;
        while time::uptime_ns() < pause {
            step(stack, pause);
        }
    }
    Ok(rtts)
}

/// GETs FILE from the test host; (body size, sha256 if `hash`, seconds).
fn http_get(stack: &NetStack, hash: bool) -> Result<(usize, [u8; 32], f64), String> {
    let tcp = stack
        .create_tcp(Caller::root())
        .map_err(|e| format!("tcp socket: {e:?}"))?;
    let t0 = time::uptime_ns();
    let limit = t0 + 120_000_000_000;
    let server = SocketAddrV4::new(HOST, 80);
    loop {
        match tcp.connect(server) {
            Ok(()) | Err(NetError::IsConnected) => break,
            Err(NetError::InProgress | NetError::Already) => {}
            Err(e) => return Err(format!("connect to {server}: {e:?}")),
        }
        if time::uptime_ns() >= limit {
            return Err("connect timed out".into());
        }
        step(stack, limit);
    }
    let req = format!("GET {FILE} HTTP/1.0\r\nHost: {HOST}\r\nUser-Agent: writ-selftest\r\n\r\n");
    let mut sent = 0;
    while sent < req.len() {
        match tcp.send(&req.as_bytes()[sent..]) {
            Ok(n) => sent += n,
            Err(NetError::WouldBlock) => step(stack, limit),
            Err(e) => return Err(format!("send: {e:?}")),
        }
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = alloc::vec::Vec::new();
    let mut length: Option<usize> = None;
    let mut body = 0usize;
    let mut sha = Sha256::new();
    loop {
        let n = match tcp.recv(&mut buf, false) {
            Ok(0) => break,
            Ok(n) => n,
            Err(NetError::WouldBlock) => {
                if time::uptime_ns() >= limit {
                    return Err(format!("GET timed out after {body} body bytes"));
                }
                step(stack, limit);
                continue;
            }
            Err(e) => return Err(format!("recv after {body} body bytes: {e:?}")),
        };
        let mut data = &buf[..n];
        if length.is_none() {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                if head.len() > 16 * 1024 {
                    return Err("HTTP header over 16 KiB".into());
                }
                continue;
            };
            let text = core::str::from_utf8(&head[..end]).map_err(|_| "header not UTF-8")?;
            let status = text.lines().next().unwrap_or("");
            if !status.contains(" 200 ") {
                return Err(format!("HTTP status line '{status}'"));
            }
            length = Some(
                text.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .unwrap_or(usize::MAX),
            );
            let rest = head.split_off(end + 4);
            body += rest.len();
            if hash {
                sha.update(&rest);
            }
            data = &[];
        }
        body += data.len();
        if hash {
            sha.update(data);
        }
    }
    let secs = (time::uptime_ns() - t0) as f64 / 1e9;
    match length {
        Some(l) if l == body || l == usize::MAX => Ok((body, sha.finish(), secs)),
        Some(l) => Err(format!("Content-Length {l} but {body} body bytes")),
        None => Err("connection closed before the HTTP header ended".into()),
    }
}

/// `selftest=netserve`: keep the stack up (pings answered by the stack itself, an echo
/// service on TCP ports 7 and 8) and print a heartbeat every second, forever.
pub fn serve() -> Outcome {
    let stack = stack()?;
    // Two echo ports: a test floods one with SYNs and checks the other still serves.
    let mut listeners = alloc::vec::Vec::new();
    for port in [7, 8, 19] {
        let l = stack
            .create_tcp(Caller::root())
            .map_err(|e| format!("tcp socket: {e:?}"))?;
        l.bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
            .map_err(|e| format!("bind :{port}: {e:?}"))?;
        l.listen(16).map_err(|e| format!("listen :{port}: {e:?}"))?;
        listeners.push(l);
    }
    log::info!(
        "selftest netserve: ready on {ME} (echo on tcp/7 and tcp/8, the 32 MiB test file on tcp/19)"
    );
    // Each connection: the bytes to send (echoed, or generated), and for tcp/19 the
    // generator's state and how many bytes are left to generate.
    struct Conn {
        tcp: netobj::TcpEndpoint,
        pending: alloc::vec::Vec<u8>,
        source: Option<(u64, usize)>,
    }
    let mut conns: alloc::vec::Vec<Conn> = alloc::vec::Vec::new();
    let mut beat = time::uptime_ns() + 1_000_000_000;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        step(&stack, beat);
        for (i, l) in listeners.iter().enumerate() {
            while let Ok((tcp, _)) = l.accept() {
                let source = (i == 2).then_some((BIG_SEED, BIG_SIZE));
                conns.push(Conn {
                    tcp,
                    pending: alloc::vec::Vec::new(),
                    source,
                });
            }
        }
        conns.retain_mut(|c| loop {
            if !c.pending.is_empty() {
                match c.tcp.send(&c.pending) {
                    Ok(n) => {
                        c.pending.drain(..n);
                        continue;
                    }
                    Err(NetError::WouldBlock) => return true,
                    Err(_) => return false,
                }
            }
            if let Some((state, left)) = &mut c.source {
                if *left == 0 {
                    return false; // all sent: close
                }
                let n = (*left).min(buf.len());
                fill(state, &mut c.pending, n);
                *left -= n;
                continue;
            }
            match c.tcp.recv(&mut buf, false) {
                Ok(0) => return false,
                Ok(n) => c.pending.extend_from_slice(&buf[..n]),
                Err(NetError::WouldBlock) => return true,
                Err(_) => return false,
            }
        });
        if time::uptime_ns() >= beat {
            beat += 1_000_000_000;
            let st = stack.stats();
            log::info!(
                "selftest netserve: alive rx {} tx {} rx_dropped {} tx_dropped {} conns {} irqs {} ({})",
                st.link.rx_frames,
                st.link.tx_frames,
                st.link.rx_dropped,
                st.link.tx_dropped,
                conns.len(),
                crate::virtio_net::interrupts(),
                crate::virtio_net::ring_state()
            );
        }
    }
}

/// The test network's 32 MiB file (qemu/src/testnet.rs `big_file_bytes`): xorshift64*
/// from this seed, each output little-endian.
const BIG_SEED: u64 = 0x5772_6974_7465_7374;
const BIG_SIZE: usize = 32 << 20;

/// Appends the generator's next `n` bytes (a multiple of 8) to `out`.
fn fill(x: &mut u64, out: &mut alloc::vec::Vec<u8>, n: usize) {
    for _ in 0..n / 8 {
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SHA-256 (FIPS 180-4), enough to check a download in the kernel.
struct Sha256 {
    h: [u32; 8],
    block: [u8; 64],
    fill: usize,
    len: u64,
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Sha256 {
    fn new() -> Sha256 {
        Sha256 {
            h: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            block: [0; 64],
            fill: 0,
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        while !data.is_empty() {
            let take = (64 - self.fill).min(data.len());
            self.block[self.fill..self.fill + take].copy_from_slice(&data[..take]);
            self.fill += take;
            data = &data[take..];
            if self.fill == 64 {
                let b = self.block;
                self.compress(&b);
                self.fill = 0;
            }
        }
    }

    fn compress(&mut self, b: &[u8; 64]) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b2, mut c, mut d, mut e, mut f, mut g, mut h] = self.h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b2) ^ (a & c) ^ (b2 & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b2;
            b2 = a;
            a = t1.wrapping_add(t2);
        }
        for (x, v) in self.h.iter_mut().zip([a, b2, c, d, e, f, g, h]) {
            *x = x.wrapping_add(v);
        }
    }

    fn finish(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.fill != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (i, v) in self.h.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
        }
        out
    }
}
