//! Port and ICMP-ident reservations, with Linux's bind-conflict rules.
//!
//! smoltcp lets any number of sockets claim a port; Linux does not, so every bind,
//! listen, connect and ping-socket ident goes through here first. A binding is owned by an
//! endpoint id; when an endpoint is closed while its connection still winds down, the
//! binding *lingers* (like TIME_WAIT), blocking a new bind unless it asks SO_REUSEADDR.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use crate::error::{NetError, NetResult};

/// Linux's default `net.ipv4.ip_local_port_range`.
pub const EPHEMERAL_PORTS: core::ops::RangeInclusive<u16> = 32768..=60999;

/// The port namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Proto {
    Tcp,
    Udp,
    /// Ping-socket idents.
    Icmp,
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    owner: u64,
    addr: Ipv4Addr,
    reuse: bool,
    listening: bool,
    lingering: bool,
}

/// Every reservation of the stack.
pub(crate) struct Ports {
    map: BTreeMap<(Proto, u16), Vec<Binding>>,
    cursor: u32,
}

fn overlap(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

impl Ports {
    pub fn new(seed: u64) -> Ports {
        Ports {
            map: BTreeMap::new(),
            cursor: (seed as u32) ^ ((seed >> 32) as u32),
        }
    }

    fn conflicts(&self, proto: Proto, port: u16, addr: Ipv4Addr, reuse: bool) -> bool {
        self.map.get(&(proto, port)).is_some_and(|bs| {
            bs.iter().any(|b| {
                let tolerated = if b.lingering {
                    reuse
                } else {
                    reuse && b.reuse && !b.listening
                };
                overlap(b.addr, addr) && !tolerated
            })
        })
    }

    /// Whether anything at all holds this port.
    pub fn in_use(&self, proto: Proto, port: u16) -> bool {
        self.map.contains_key(&(proto, port))
    }

    /// Reserve `port` (or an unused ephemeral one when 0) for `owner`; returns the port.
    pub fn bind(
        &mut self,
        proto: Proto,
        addr: Ipv4Addr,
        port: u16,
        owner: u64,
        reuse: bool,
    ) -> NetResult<u16> {
        let port = if port == 0 {
            self.pick(proto)?
        } else if self.conflicts(proto, port, addr, reuse) {
            return Err(NetError::AddrInUse);
        } else {
            port
        };
        let b = Binding {
            owner,
            addr,
            reuse,
            listening: false,
            lingering: false,
        };
        self.map.entry((proto, port)).or_default().push(b);
        Ok(port)
    }

    /// Add a binding without a conflict check: accepted connections share their
    /// listener's port, as Linux's children share its bind bucket.
    pub fn attach(&mut self, proto: Proto, addr: Ipv4Addr, port: u16, owner: u64, reuse: bool) {
        let b = Binding {
            owner,
            addr,
            reuse,
            listening: false,
            lingering: false,
        };
        self.map.entry((proto, port)).or_default().push(b);
    }

    /// An unused port: ephemeral range for TCP/UDP, any nonzero ident for ICMP.
    fn pick(&mut self, proto: Proto) -> NetResult<u16> {
        let (lo, n) = match proto {
            Proto::Icmp => (1u32, 65_535u32),
            _ => (
                u32::from(*EPHEMERAL_PORTS.start()),
                EPHEMERAL_PORTS.len() as u32,
            ),
        };
        for _ in 0..n {
            // A multiplicative step spreads successive picks like Linux's randomized
            // search while staying deterministic for a given seed.
            self.cursor = self.cursor.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let port = (lo + (self.cursor >> 8) % n) as u16;
            if !self.in_use(proto, port) {
                return Ok(port);
            }
        }
        // The random walk may miss the last free ports; sweep once to be exact.
        (lo..lo + n)
            .map(|p| p as u16)
            .find(|&p| !self.in_use(proto, p))
            .ok_or(NetError::AddrNotAvail)
    }

    fn with(&mut self, proto: Proto, port: u16, owner: u64, f: impl Fn(&mut Binding)) {
        if let Some(bs) = self.map.get_mut(&(proto, port)) {
            bs.iter_mut().filter(|b| b.owner == owner).for_each(f);
        }
    }

    /// Mark the owner's binding as listening (listening sockets never share a port).
    pub fn listen(&mut self, proto: Proto, port: u16, owner: u64) -> NetResult<()> {
        let clash = self.map.get(&(proto, port)).is_some_and(|bs| {
            bs.iter()
                .any(|b| b.owner != owner && b.listening && !b.lingering)
        });
        if clash {
            return Err(NetError::AddrInUse);
        }
        self.with(proto, port, owner, |b| b.listening = true);
        Ok(())
    }

    /// The owner stopped listening but keeps its binding.
    pub fn unlisten(&mut self, proto: Proto, port: u16, owner: u64) {
        self.with(proto, port, owner, |b| b.listening = false);
    }

    /// Keep the owner's binding while its connection winds down after close.
    pub fn linger(&mut self, proto: Proto, port: u16, owner: u64) {
        self.with(proto, port, owner, |b| {
            b.lingering = true;
            b.listening = false;
        });
    }

    /// Drop the owner's binding of `port`.
    pub fn release(&mut self, proto: Proto, port: u16, owner: u64) {
        if let Some(bs) = self.map.get_mut(&(proto, port)) {
            bs.retain(|b| b.owner != owner);
            if bs.is_empty() {
                self.map.remove(&(proto, port));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
    const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

    #[test]
    fn conflicts_follow_linux_rules() {
        let mut p = Ports::new(1);
        assert_eq!(p.bind(Proto::Tcp, ANY, 8080, 1, false), Ok(8080));
        assert_eq!(
            p.bind(Proto::Tcp, LO, 8080, 2, false),
            Err(NetError::AddrInUse)
        );
        // Other namespace: fine.
        assert_eq!(p.bind(Proto::Udp, ANY, 8080, 3, false), Ok(8080));
        // Both SO_REUSEADDR and not listening: shared.
        assert_eq!(p.bind(Proto::Tcp, ANY, 9000, 4, true), Ok(9000));
        assert_eq!(p.bind(Proto::Tcp, ANY, 9000, 5, true), Ok(9000));
        p.listen(Proto::Tcp, 9000, 4).unwrap();
        assert_eq!(p.listen(Proto::Tcp, 9000, 5), Err(NetError::AddrInUse));
        // Lingering bindings yield only to SO_REUSEADDR.
        p.linger(Proto::Tcp, 8080, 1);
        assert_eq!(
            p.bind(Proto::Tcp, ANY, 8080, 6, false),
            Err(NetError::AddrInUse)
        );
        assert_eq!(p.bind(Proto::Tcp, ANY, 8080, 6, true), Ok(8080));
        p.release(Proto::Tcp, 8080, 1);
        p.release(Proto::Tcp, 8080, 6);
        assert!(!p.in_use(Proto::Tcp, 8080));
    }

    #[test]
    fn ephemeral_ports_are_in_linux_range_and_exhaust_with_eaddrnotavail() {
        let mut p = Ports::new(7);
        let n = EPHEMERAL_PORTS.len();
        for i in 0..n {
            let port = p.bind(Proto::Udp, ANY, 0, i as u64, false).unwrap();
            assert!(EPHEMERAL_PORTS.contains(&port));
        }
        assert_eq!(
            p.bind(Proto::Udp, ANY, 0, 0, false),
            Err(NetError::AddrNotAvail)
        );
        let ident = p.bind(Proto::Icmp, ANY, 0, 1, false).unwrap();
        assert_ne!(ident, 0);
    }
}
