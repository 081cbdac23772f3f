//! Test harness: two NetStacks joined by an in-memory Ethernet wire with configurable
//! loss and delay, driven by a virtual clock that jumps to the next instant anything
//! can happen (so a 127 s connect timeout takes milliseconds of real time).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use netobj::{Caller, Duration, Instant, NetDevice, NetStack, StackConfig};

pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

pub fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

pub fn root() -> Caller {
    Caller::root()
}

/// Virtual time in microseconds, shared by the wire and the harness.
#[derive(Clone, Default)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.0.load(Ordering::SeqCst) as i64)
    }
    pub fn set(&self, t: Instant) {
        self.0
            .store(t.total_micros().max(0) as u64, Ordering::SeqCst);
    }
}

struct Frame {
    at: Instant,
    data: Vec<u8>,
}

pub struct WireState {
    queues: [VecDeque<Frame>; 2],
    pub loss: f64,
    pub delay: Duration,
    rng: u64,
    pub dropped: u64,
    pub delivered: u64,
    /// Frames refused for exceeding the sender's MTU.
    pub oversized: u64,
    /// When set, side N has no stack: frames to it vanish (a host that is down).
    pub blackhole: [bool; 2],
    /// When set, side N answers ARP but drops every IPv4 packet (a host that is up but
    /// filters everything).
    pub drop_ip: [bool; 2],
}

impl WireState {
    fn rand(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone)]
pub struct Wire {
    pub state: Arc<Mutex<WireState>>,
    pub clock: Clock,
}

impl Wire {
    pub fn new(clock: Clock, loss: f64, delay: Duration, seed: u64) -> Wire {
        Wire {
            state: Arc::new(Mutex::new(WireState {
                queues: [VecDeque::new(), VecDeque::new()],
                loss,
                delay,
                rng: seed | 1,
                dropped: 0,
                delivered: 0,
                oversized: 0,
                blackhole: [false, false],
                drop_ip: [false, false],
            })),
            clock,
        }
    }

    /// Frames refused for exceeding the sender's MTU.
    pub fn oversized(&self) -> u64 {
        self.state.lock().unwrap().oversized
    }

    pub fn end(&self, side: usize, mtu: usize) -> WireEnd {
        WireEnd {
            wire: self.clone(),
            side,
            mtu,
            mac: [0x02, 0, 0, 0, 0, side as u8 + 1],
        }
    }

    /// The earliest delivery time of a queued frame.
    pub fn next_delivery(&self) -> Option<Instant> {
        let s = self.state.lock().unwrap();
        s.queues
            .iter()
            .filter_map(|q| q.front().map(|f| f.at))
            .min()
    }

    /// Put a raw frame on the wire towards `side`.
    pub fn inject(&self, side: usize, data: Vec<u8>) {
        let at = self.clock.now();
        self.state.lock().unwrap().queues[side].push_back(Frame { at, data });
    }
}

pub struct WireEnd {
    wire: Wire,
    side: usize,
    mtu: usize,
    pub mac: [u8; 6],
}

impl NetDevice for WireEnd {
    fn mac_address(&self) -> [u8; 6] {
        self.mac
    }
    fn mtu(&self) -> usize {
        self.mtu
    }
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let now = self.wire.clock.now();
        let mut s = self.wire.state.lock().unwrap();
        let q = &mut s.queues[self.side];
        if q.front().is_some_and(|f| f.at <= now) {
            let f = q.pop_front()?;
            let n = f.data.len().min(buf.len());
            buf[..n].copy_from_slice(&f.data[..n]);
            s.delivered += 1;
            Some(n)
        } else {
            None
        }
    }
    fn transmit(&mut self, frame: &[u8]) -> bool {
        let now = self.wire.clock.now();
        let mut s = self.wire.state.lock().unwrap();
        // Like a real NIC: a frame over the MTU never makes it onto the wire.
        if frame.len() > self.mtu + 14 {
            s.oversized += 1;
            return false;
        }
        let other = 1 - self.side;
        let ipv4 = frame.get(12..14) == Some(&[0x08, 0x00][..]);
        if s.blackhole[other] || (s.drop_ip[other] && ipv4) || (s.loss > 0.0 && s.rand() < s.loss) {
            s.dropped += 1;
            return true;
        }
        let at = now + s.delay;
        s.queues[other].push_back(Frame {
            at,
            data: frame.to_vec(),
        });
        true
    }
}

/// Two stacks on one wire: A = 10.0.0.1, B = 10.0.0.2 (/24).
pub struct Net {
    pub clock: Clock,
    pub wire: Wire,
    pub a: NetStack,
    pub b: NetStack,
}

pub fn config(ip: Ipv4Addr, seed: u64) -> StackConfig {
    StackConfig {
        address: Some((ip, 24)),
        random_seed: seed,
        ..StackConfig::default()
    }
}

impl Net {
    pub fn new() -> Net {
        Net::with(0.0, Duration::from_millis(0), 1500)
    }

    pub fn with(loss: f64, delay: Duration, mtu: usize) -> Net {
        Net::with_config(loss, delay, mtu, config(A_IP, 11), config(B_IP, 22))
    }

    pub fn with_config(
        loss: f64,
        delay: Duration,
        mtu: usize,
        ca: StackConfig,
        cb: StackConfig,
    ) -> Net {
        Net::with_mtus(loss, delay, [mtu, mtu], ca, cb)
    }

    /// Two stacks whose devices have different MTUs.
    pub fn with_mtus(
        loss: f64,
        delay: Duration,
        mtus: [usize; 2],
        ca: StackConfig,
        cb: StackConfig,
    ) -> Net {
        let clock = Clock::default();
        clock.set(Instant::from_secs(1));
        let wire = Wire::new(clock.clone(), loss, delay, 0x1234_5678);
        let a = NetStack::new(Box::new(wire.end(0, mtus[0])), ca, clock.now());
        let b = NetStack::new(Box::new(wire.end(1, mtus[1])), cb, clock.now());
        Net { clock, wire, a, b }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Poll both stacks until neither has anything to do right now.
    pub fn settle(&self) {
        for _ in 0..10_000 {
            let now = self.clock.now();
            self.a.poll(now);
            self.b.poll(now);
            let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
            if !due(self.a.poll_at(now))
                && !due(self.b.poll_at(now))
                && !due(self.wire.next_delivery())
            {
                return;
            }
        }
    }

    /// Advance virtual time to the next event (at most `max`), then settle.
    pub fn step(&self, max: Duration) {
        self.settle();
        let now = self.clock.now();
        let limit = now + max;
        let next = [
            self.a.poll_at(now),
            self.b.poll_at(now),
            self.wire.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .filter(|&t| t > now)
        .min()
        .unwrap_or(limit)
        .min(limit);
        self.clock.set(next);
        self.settle();
    }

    /// Run until `done` holds, or fail after `limit` of virtual time.
    pub fn run_until(&self, limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let end = self.clock.now() + limit;
        self.settle();
        while !done() {
            if self.clock.now() >= end {
                return false;
            }
            self.step(end - self.clock.now());
        }
        true
    }

    /// Let `d` of virtual time pass.
    pub fn run_for(&self, d: Duration) {
        let end = self.clock.now() + d;
        while self.clock.now() < end {
            self.step(end - self.clock.now());
        }
    }
}
pub mod peer;
pub mod tap;

/// Watches the TCP segments one side sends for a receive window whose right edge moves
/// left (RFC 7323 §2.4, RFC 9293 SHLD-14: a receiver should not shrink the window; a
/// peer that sent up to the old edge is then beyond the new one, and smoltcp's
/// acceptability test rejects its pure ACKs at a zero window).
#[derive(Default)]
pub struct EdgeWatch {
    /// (our port, peer port) -> (window shift we announced, furthest right edge so far).
    flows: std::collections::HashMap<(u16, u16), (u8, Option<u32>)>,
    /// Segments whose right edge was left of an earlier one.
    pub shrinks: u64,
    /// The largest such step back, in bytes.
    pub worst: u32,
}

impl EdgeWatch {
    /// Look at one Ethernet frame this side transmits.
    pub fn observe(&mut self, frame: &[u8]) {
        if frame.get(12..14) != Some(&[0x08, 0x00][..]) || frame.len() < 34 {
            return;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[9] != 6 || ip.len() < ihl + 20 {
            return;
        }
        let t = &ip[ihl..];
        let be16 = |i: usize| u16::from_be_bytes([t[i], t[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
        let key = (be16(0), be16(2));
        let flags = t[13];
        let (syn, rst, ack) = (flags & 0x02 != 0, flags & 0x04 != 0, flags & 0x10 != 0);
        let doff = usize::from(t[12] >> 4) * 4;
        if syn {
            let mut shift = 0;
            let opts = t.get(20..doff).unwrap_or(&[]);
            let mut i = 0;
            while i < opts.len() {
                match opts[i] {
                    0 => break,
                    1 => i += 1,
                    k => {
                        let len = usize::from(*opts.get(i + 1).unwrap_or(&2)).max(2);
                        if k == 3 {
                            shift = *opts.get(i + 2).unwrap_or(&0);
                        }
                        i += len;
                    }
                }
            }
            self.flows.insert(key, (shift, None));
            return;
        }
        if rst || !ack {
            return;
        }
        let Some((shift, max)) = self.flows.get_mut(&key) else {
            return;
        };
        let edge = be32(8).wrapping_add(u32::from(be16(14)) << *shift);
        match *max {
            Some(m) if (edge.wrapping_sub(m) as i32) < 0 => {
                self.shrinks += 1;
                self.worst = self.worst.max(m.wrapping_sub(edge));
            }
            _ => *max = Some(edge),
        }
    }
}
