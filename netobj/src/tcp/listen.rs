//! A listening TCP endpoint with a real backlog.
//!
//! A smoltcp socket in LISTEN turns *into* the connection when a SYN arrives, so one
//! listening socket accepts one connection. A listener therefore keeps a small pool of
//! idle smoltcp sockets in LISTEN on its port, moves each one that took a SYN to a FIFO of
//! pending connections, and tops the pool up again. The stack refills pools after every
//! received SYN (the link tells it), so a burst of SYNs never finds the port closed.
//! When pending plus idle reach the backlog (Linux: backlog + 1 established
//! connections), the pool is not refilled and the link drops further SYNs, so clients
//! retry as they do against a full Linux accept queue instead of being refused; but when
//! the backlog is full of half-open connections (a SYN flood), the oldest one is dropped
//! to make room, so real clients still get in (Linux uses SYN cookies there).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{Socket, State as TcpState};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpAddress;

use super::connected::Connected;
use super::new_socket;
use crate::core::{EndpointId, Env};
use crate::options::Options;
use crate::ports::Proto;
use crate::readiness::Readiness;

/// Linux's `net.core.somaxconn` default caps the backlog.
pub const SOMAXCONN: i32 = 4096;
/// Idle LISTEN sockets kept ready; refilled after every SYN.
const IDLE_TARGET: usize = 2;
/// A half-open connection gives up after this, like Linux after tcp_synack_retries (5)
/// SYN-ACKs; without it, SYNs from spoofed sources would hold the backlog forever.
const SYN_RECV_TIMEOUT: Duration = Duration::from_secs(63);
/// A half-open connection this old may be dropped for a new SYN when the backlog is full:
/// a real client answers a SYN-ACK within a round trip, far less than this (and smoltcp
/// only resends the SYN-ACK after 1 s).
const HALF_OPEN_EVICTABLE: Duration = Duration::from_secs(1);

pub(crate) struct Listening {
    pub local: SocketAddrV4,
    /// Connections (pending + idle listeners) the listener may hold.
    capacity: usize,
    idle: Vec<SocketHandle>,
    pending: VecDeque<SocketHandle>,
    /// When each pending connection took its SYN (seen by the first refill after it).
    syn_at: BTreeMap<SocketHandle, Instant>,
    opts: Options,
}

impl Listening {
    pub fn new(env: &mut Env, opts: &Options, local: SocketAddrV4, backlog: i32) -> Listening {
        let mut l = Listening {
            local,
            capacity: 1,
            idle: Vec::new(),
            pending: VecDeque::new(),
            syn_at: BTreeMap::new(),
            opts: *opts,
        };
        l.set_backlog(env, backlog);
        l
    }

    /// listen() again on a listening socket only changes the backlog.
    pub fn set_backlog(&mut self, env: &mut Env, backlog: i32) {
        self.capacity = backlog.clamp(0, SOMAXCONN) as usize + 1;
        self.refill(env);
    }

    pub fn set_options(&mut self, env: &mut Env, opts: &Options) {
        self.opts = *opts;
        for &h in &self.idle {
            super::apply_options(env.sockets.get_mut::<Socket>(h), opts);
        }
    }

    /// Sort the pool after ingress and top it up.
    pub fn refill(&mut self, env: &mut Env) {
        let mut i = 0;
        while i < self.idle.len() {
            let h = self.idle[i];
            if env.sockets.get::<Socket>(h).state() == TcpState::Listen {
                i += 1;
            } else {
                self.idle.swap_remove(i);
                self.pending.push_back(h);
                self.syn_at.insert(h, env.now);
            }
        }
        // A handshake reset in SYN_RECEIVED sends the socket back to LISTEN; one that
        // died after establishment is closed. Neither is acceptable any more.
        let mut back_to_idle = Vec::new();
        let syn_at = &mut self.syn_at;
        self.pending
            .retain(|&h| match env.sockets.get::<Socket>(h).state() {
                TcpState::Listen => {
                    back_to_idle.push(h);
                    syn_at.remove(&h);
                    false
                }
                TcpState::Closed => {
                    env.sockets.remove(h);
                    syn_at.remove(&h);
                    false
                }
                TcpState::SynReceived => true,
                _ => {
                    // Established: from now on the connection's own options rule its timeout.
                    let sock = env.sockets.get_mut::<Socket>(h);
                    if sock.timeout() == Some(SYN_RECV_TIMEOUT) {
                        super::apply_options(sock, &self.opts);
                    }
                    true
                }
            });
        self.idle.extend(back_to_idle);
        if self.idle.is_empty() && self.pending.len() >= self.capacity {
            self.evict_oldest_half_open(env);
        }
        let want = IDLE_TARGET.min(self.capacity.saturating_sub(self.pending.len()));
        while self.idle.len() < want {
            let mut sock = new_socket(env, &self.opts);
            sock.set_timeout(Some(SYN_RECV_TIMEOUT));
            let ep = smoltcp::wire::IpListenEndpoint {
                addr: (!self.local.ip().is_unspecified())
                    .then_some(IpAddress::Ipv4(*self.local.ip())),
                port: self.local.port(),
            };
            if sock.listen(ep).is_err() {
                break;
            }
            self.idle.push(env.sockets.add(sock));
        }
        if self.idle.is_empty() {
            env.link.full_ports.insert(self.local.port());
        } else {
            env.link.full_ports.remove(&self.local.port());
        }
    }

    /// A backlog full of half-open connections (a SYN flood from spoofed addresses that
    /// never answer) would refuse every real client until SYN_RECV_TIMEOUT; Linux keeps
    /// accepting by answering with SYN cookies once its SYN queue overflows. Without
    /// cookies, make room by dropping the oldest half-open connection, silently (a
    /// dropped Linux request sock sends nothing either), as FreeBSD's syncache does,
    /// provided it is older than HALF_OPEN_EVICTABLE: a real client's handshake completes
    /// within a round trip, so a burst of real clients never evict one another. A flood
    /// faster than a backlog's worth of SYNs per HALF_OPEN_EVICTABLE still fills it (SYN
    /// cookies would be the full answer). Established connections waiting for accept()
    /// are never dropped: a full accept queue still drops SYNs, as Linux does.
    fn evict_oldest_half_open(&mut self, env: &mut Env) {
        let oldest = self.pending.iter().position(|&h| {
            env.sockets.get::<Socket>(h).state() == TcpState::SynReceived
                && self
                    .syn_at
                    .get(&h)
                    .is_some_and(|&t| env.now - t >= HALF_OPEN_EVICTABLE)
        });
        if let Some(h) = oldest.and_then(|i| self.pending.remove(i)) {
            self.syn_at.remove(&h);
            env.sockets.remove(h);
        }
    }

    fn first_established(&self, env: &Env) -> Option<usize> {
        self.pending.iter().position(|&h| {
            matches!(
                env.sockets.get::<Socket>(h).state(),
                TcpState::Established | TcpState::CloseWait
            )
        })
    }

    /// Take the oldest established connection; it gets its own id and holds the port.
    pub fn accept(&mut self, env: &mut Env, new_id: EndpointId) -> Option<Connected> {
        self.refill(env);
        let i = self.first_established(env)?;
        let h = self.pending.remove(i)?;
        self.syn_at.remove(&h);
        let sock = env.sockets.get::<Socket>(h);
        let (Some(l), Some(r)) = (sock.local_endpoint(), sock.remote_endpoint()) else {
            // Established sockets always know both ends; never leak one that does not.
            env.sockets.remove(h);
            return None;
        };
        let (IpAddress::Ipv4(la), IpAddress::Ipv4(ra)) = (l.addr, r.addr);
        env.ports
            .attach(Proto::Tcp, la, l.port, new_id, self.opts.reuse_addr);
        self.refill(env);
        Some(Connected::new(
            h,
            SocketAddrV4::new(la, l.port),
            SocketAddrV4::new(ra, r.port),
            true,
        ))
    }

    /// Established connections waiting for accept.
    pub fn waiting(&self, env: &Env) -> usize {
        self.pending
            .iter()
            .filter(|&&h| {
                matches!(
                    env.sockets.get::<Socket>(h).state(),
                    TcpState::Established | TcpState::CloseWait
                )
            })
            .count()
    }

    /// Connections the listener may hold (backlog + 1).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn readiness(&self, env: &Env) -> Readiness {
        if self.first_established(env).is_some() {
            Readiness::READABLE
        } else {
            Readiness::empty()
        }
    }

    /// Close: idle listeners vanish; pending connections are reset, as Linux resets the
    /// connections in an accept queue that is closed.
    pub fn close(self, env: &mut Env, id: EndpointId) {
        let port = self.local.port();
        self.stop(env);
        env.ports.release(Proto::Tcp, port, id);
    }

    /// Stop listening but keep the port binding (shutdown(SHUT_RD) on a listener).
    pub fn stop(self, env: &mut Env) {
        for h in self.idle {
            env.sockets.remove(h);
        }
        for h in self.pending {
            env.sockets.get_mut::<Socket>(h).abort();
            env.orphan(h, None);
        }
        env.link.full_ports.remove(&self.local.port());
    }
}
