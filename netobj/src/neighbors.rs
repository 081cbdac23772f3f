//! Which next hops do not answer ARP, so a connect to a dead host on the local network
//! fails with EHOSTUNREACH after about three seconds, as on Linux (three unanswered
//! ARP probes), instead of waiting for the SYN timeout.
//!
//! smoltcp keeps its neighbor cache to itself, so the link watches the ARP traffic
//! instead: requests we send, and anything we hear from an address.

use alloc::collections::BTreeMap;
use core::net::Ipv4Addr;

use smoltcp::time::{Duration, Instant};

/// Linux's default: 3 unicast/broadcast probes one second apart.
const PROBES: u32 = 3;
const PROBE_SPAN: Duration = Duration::from_secs(3);
/// A failed entry is forgotten after this without new requests.
const FORGET: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 256;

struct Pending {
    first: Instant,
    last: Instant,
    requests: u32,
}

#[derive(Default)]
pub(crate) struct ArpWatch {
    pending: BTreeMap<Ipv4Addr, Pending>,
}

impl ArpWatch {
    /// We asked who has `target`.
    pub fn requested(&mut self, target: Ipv4Addr, now: Instant) {
        if self.pending.len() >= MAX_ENTRIES && !self.pending.contains_key(&target) {
            return;
        }
        let p = self.pending.entry(target).or_insert(Pending {
            first: now,
            last: now,
            requests: 0,
        });
        if now >= p.last + FORGET {
            *p = Pending {
                first: now,
                last: now,
                requests: 0,
            };
        }
        p.requests += 1;
        p.last = now;
    }

    /// We heard from `sender`: it is alive.
    pub fn heard(&mut self, sender: Ipv4Addr) {
        if !self.pending.is_empty() {
            self.pending.remove(&sender);
        }
    }

    /// Whether `ip` failed to answer three probes over three seconds.
    pub fn unreachable(&self, ip: Ipv4Addr, now: Instant) -> bool {
        self.pending.get(&ip).is_some_and(|p| {
            p.requests >= PROBES && now >= p.first + PROBE_SPAN && now < p.last + FORGET
        })
    }

    /// Start counting afresh for `ip` (a new connect re-probes a failed neighbour, as
    /// Linux does).
    pub fn forget(&mut self, ip: Ipv4Addr) {
        self.pending.remove(&ip);
    }

    pub fn expire(&mut self, now: Instant) {
        self.pending.retain(|_, p| now < p.last + FORGET);
    }
}
