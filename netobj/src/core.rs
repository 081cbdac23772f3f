//! The shared state behind a `NetStack` and all its endpoints, and the poll loop.
//!
//! Everything lives in one [`Core`] behind a lock: the smoltcp interface and socket set,
//! the link, the port table and every endpoint's state ([`Kind`]). Endpoint handles are an
//! `Arc` of the core plus an id, so an endpoint can be revoked (its state replaced by
//! `Kind::Dead`) while user space still holds it, and so `poll` can compute every
//! endpoint's readiness to wake exactly the sleepers that can now make progress.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::task::Waker;

use smoltcp::iface::{Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::time::{Duration, Instant};

use crate::device::Link;
use crate::error::{NetError, NetResult};
use crate::finwatch::FinWatch;
use crate::ports::{Ports, Proto};
use crate::readiness::Readiness;
use crate::stack::StackConfig;
use crate::{icmp, packet, raw, tcp, udp};

/// The stack's lock: a spin lock whose contended waits call the hook a kernel set with
/// [`set_contention_hook`]. A kernel that preempts threads can be holding it in a
/// preempted thread (its net thread, in the middle of a receive batch) while another
/// thread on the same CPU wants it; spinning then burns the rest of a time slice,
/// while yielding lets the holder finish. Until a hook is set (host tests) it spins.
pub(crate) type CoreLock = spin::mutex::Mutex<Core, Contention>;

static CONTENTION_HOOK: spin::Once<fn()> = spin::Once::new();

/// Sets what a thread does while the stack's lock is held by another (once; later calls
/// are ignored). The hook runs in a loop until the lock is free, so it must return
/// (e.g. yield the CPU, or spin if the caller cannot be switched out).
pub fn set_contention_hook(hook: fn()) {
    CONTENTION_HOOK.call_once(|| hook);
}

/// The [`spin::RelaxStrategy`] of [`CoreLock`].
pub(crate) struct Contention;

impl spin::RelaxStrategy for Contention {
    fn relax() {
        match CONTENTION_HOOK.get() {
            Some(hook) => hook(),
            None => ::core::hint::spin_loop(),
        }
    }
}

pub(crate) type EndpointId = u64;

/// How long a closed-but-still-connected TCP socket may take to wind down (Linux's
/// `tcp_fin_timeout` is 60 s; TIME_WAIT is shorter in smoltcp, so this bounds FIN_WAIT_2).
const ORPHAN_LIFETIME: Duration = Duration::from_secs(60);
/// Ingress frames handled before egress gets a turn, so ACKs flow during bulk receive.
const INGRESS_BATCH: usize = 64;
/// Ingress batches per `poll` call before yielding back to the kernel.
const MAX_ROUNDS: usize = 64;

/// The state of one endpoint.
pub(crate) enum Kind {
    Tcp(tcp::TcpSock),
    Udp(udp::UdpSock),
    Icmp(icmp::IcmpSock),
    Raw(raw::RawSock),
    Packet(packet::PacketSock),
    /// Revoked: every operation fails with ENETDOWN.
    Dead,
}

impl Kind {
    /// Bring the endpoint's view up to date with its sockets and report its readiness.
    pub fn refresh(&mut self, env: &mut Env, id: EndpointId) -> Readiness {
        match self {
            Kind::Tcp(s) => s.refresh(env, id),
            Kind::Udp(s) => s.refresh(env),
            Kind::Icmp(s) => s.refresh(env),
            Kind::Raw(s) => s.refresh(env),
            Kind::Packet(s) => s.refresh(),
            Kind::Dead => Readiness::ERR | Readiness::HUP,
        }
    }

    /// Release everything the endpoint holds (sockets, ports), closing connections the
    /// way Linux's close() would (FIN, or RST when unread data is discarded).
    pub fn close(self, env: &mut Env, id: EndpointId) {
        match self {
            Kind::Tcp(s) => s.close(env, id),
            Kind::Udp(s) => s.close(env, id),
            Kind::Icmp(s) => s.close(env, id),
            Kind::Raw(s) => s.close(env),
            Kind::Packet(_) | Kind::Dead => {}
        }
    }
}

pub(crate) struct Entry {
    pub origin: u64,
    pub kind: Kind,
    pub waker: Option<Waker>,
    pub last: Readiness,
}

/// A TCP socket whose endpoint is gone but whose connection still winds down.
pub(crate) struct Orphan {
    pub handle: SocketHandle,
    pub binding: Option<(Proto, u16, EndpointId)>,
    pub deadline: Instant,
}

/// Everything but the endpoint table, so endpoint code can borrow both.
pub(crate) struct Env {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    pub link: Link,
    pub ports: Ports,
    pub orphans: Vec<Orphan>,
    pub cfg: StackConfig,
    pub now: Instant,
    pub next_id: EndpointId,
    /// Packets still waiting in the device when `poll` yielded.
    pub more_rx: bool,
    pub finwatch: FinWatch,
    /// A raw ICMP socket that hears every ICMP message, for the errors smoltcp does not
    /// route to TCP (see `collect_icmp_errors`).
    pub icmp_sink: SocketHandle,
    /// Destination-unreachable errors about our TCP segments heard in this poll, by
    /// (local port, remote address, remote port). Cleared every poll.
    pub tcp_errors: Vec<((u16, Ipv4Addr, u16), NetError)>,
}

impl Env {
    pub fn alloc_id(&mut self) -> EndpointId {
        self.next_id += 1;
        self.next_id
    }

    /// The device address, if configured.
    pub fn device_addr(&self) -> Option<Ipv4Addr> {
        self.cfg.address.map(|(a, _)| a)
    }

    /// Whether `addr` may be bound: any, loopback, or the device address.
    pub fn is_bindable(&self, addr: Ipv4Addr) -> bool {
        addr.is_unspecified() || addr.is_loopback() || Some(addr) == self.device_addr()
    }

    /// Linux sends to INADDR_ANY as to the loopback address.
    pub fn normalize_dst(addr: Ipv4Addr) -> Ipv4Addr {
        if addr.is_unspecified() {
            Ipv4Addr::LOCALHOST
        } else {
            addr
        }
    }

    /// The source address Linux's routing would choose for `dst` (ENETUNREACH if none).
    pub fn source_for(&self, dst: Ipv4Addr) -> NetResult<Ipv4Addr> {
        if dst.is_loopback() {
            return Ok(Ipv4Addr::LOCALHOST);
        }
        // A downed device's address is not used (Configure::LinkUp).
        let Some((addr, prefix)) = self.cfg.address.filter(|_| self.cfg.link_up) else {
            return Err(NetError::NetUnreach);
        };
        let mask = u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(prefix)))
            .unwrap_or(0);
        let same_net = u32::from(addr) & mask == u32::from(dst) & mask;
        if dst == addr || same_net || dst.is_broadcast() || self.cfg.gateway.is_some() {
            Ok(addr)
        } else {
            Err(NetError::NetUnreach)
        }
    }

    /// Read the ICMP sink: destination-unreachable messages quoting a TCP segment of ours
    /// become `tcp_errors` (a connecting endpoint fails with them, as Linux fails a
    /// SYN_SENT socket on a hard ICMP error); everything else is dropped.
    fn collect_icmp_errors(&mut self) {
        let sink = self
            .sockets
            .get_mut::<smoltcp::socket::raw::Socket>(self.icmp_sink);
        while let Ok(pkt) = sink.recv() {
            let ihl = usize::from(pkt.first().copied().unwrap_or(0) & 0x0f) * 4;
            let Some(icmp) = pkt.get(ihl..).filter(|_| ihl >= 20) else {
                continue;
            };
            if let Some(u) = crate::datagram::icmp_unreachable(icmp) {
                if u.proto == 6 && self.tcp_errors.len() < 64 {
                    self.tcp_errors
                        .push(((u.src_port, *u.dst.ip(), u.dst.port()), u.err));
                }
            }
        }
    }

    /// The IP MTU towards `dst`: Linux's loopback MTU for local destinations, the
    /// device's otherwise (no fragmentation: larger datagrams fail with EMSGSIZE).
    pub fn path_mtu(&self, dst: Ipv4Addr) -> usize {
        if dst.is_loopback() || Some(dst) == self.device_addr() {
            crate::device::LOOPBACK_MTU
        } else {
            self.link.mtu()
        }
    }

    /// The address ARP must resolve to reach `dst` (itself on the local network, else
    /// the gateway); None for loopback and own addresses.
    pub fn next_hop(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        if dst.is_loopback() || Some(dst) == self.device_addr() {
            return None;
        }
        let (addr, prefix) = self.cfg.address?;
        let mask = u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(prefix)))
            .unwrap_or(0);
        if u32::from(addr) & mask == u32::from(dst) & mask {
            Some(dst)
        } else {
            self.cfg.gateway
        }
    }

    /// Reap orphans whose connection has finished (or outlived its deadline).
    fn reap_orphans(&mut self) {
        let now = self.now;
        let Env {
            orphans,
            sockets,
            ports,
            ..
        } = self;
        orphans.retain(|o| {
            let sock = sockets.get_mut::<smoltcp::socket::tcp::Socket>(o.handle);
            // Data for a connection nobody can read any more: Linux answers it with RST
            // (the writer's next send fails with EPIPE). Kept one round so the RST goes.
            if sock.state() != smoltcp::socket::tcp::State::Closed && sock.recv_queue() > 0 {
                sock.abort();
                return true;
            }
            let done = sock.state() == smoltcp::socket::tcp::State::Closed;
            if !done && now < o.deadline {
                return true;
            }
            if !done {
                sock.abort();
                // Leave it one more round so the RST goes out.
                return now < o.deadline + Duration::from_secs(1);
            }
            sockets.remove(o.handle);
            if let Some((proto, port, owner)) = o.binding {
                ports.release(proto, port, owner);
            }
            false
        });
    }

    pub fn orphan(&mut self, handle: SocketHandle, binding: Option<(Proto, u16, EndpointId)>) {
        let deadline = self.now + ORPHAN_LIFETIME;
        if let Some((proto, port, owner)) = binding {
            self.ports.linger(proto, port, owner);
        }
        self.orphans.push(Orphan {
            handle,
            binding,
            deadline,
        });
    }
}

pub(crate) struct Core {
    pub endpoints: BTreeMap<EndpointId, Entry>,
    pub env: Env,
}

impl Core {
    /// Run the stack: receive, refill listening pools, transmit, then update endpoints.
    /// Returns the wakers to wake (called by the caller after dropping the lock).
    pub fn poll(&mut self, now: Instant) -> Vec<Waker> {
        self.env.now = now;
        self.env.link.tx.now = now;
        self.env.link.tx.arp.expire(now);
        self.env.iface.poll_maintenance(now);
        // A full listener may hold half-open connections that have become evictable since
        // the last poll (`tcp::listen`): let it make room before this poll's SYNs are
        // judged, or the first real SYN after a flood would still be dropped.
        if !self.env.link.full_ports.is_empty() {
            self.refill_listeners();
        }
        let mut rounds = 0;
        loop {
            let mut received = 0;
            while received < INGRESS_BATCH {
                let env = &mut self.env;
                let r = env
                    .iface
                    .poll_ingress_single(now, &mut env.link, &mut env.sockets);
                if r == PollIngressSingleResult::None {
                    break;
                }
                received += 1;
                if self.env.link.syn_seen {
                    self.env.link.syn_seen = false;
                    self.refill_listeners();
                }
            }
            let env = &mut self.env;
            while env.iface.poll_egress(now, &mut env.link, &mut env.sockets)
                == PollResult::SocketStateChanged
            {}
            rounds += 1;
            if received < INGRESS_BATCH || rounds >= MAX_ROUNDS {
                self.env.more_rx = received == INGRESS_BATCH;
                break;
            }
        }
        // Also catches handshakes completed since the last SYN (their timeouts reset).
        self.refill_listeners();
        let env = &mut self.env;
        env.finwatch.check(now, &env.sockets, &mut env.link);
        self.distribute_captured();
        self.env.reap_orphans();
        self.env.collect_icmp_errors();
        let wakers = self.refresh_all();
        self.env.link.tx.rst_sent.clear();
        self.env.tcp_errors.clear();
        wakers
    }

    /// When the stack next needs `poll` (None: only when a frame arrives).
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let env = &mut self.env;
        if env.more_rx || !env.link.tx.loopback.is_empty() {
            return Some(now);
        }
        let mut at = env.iface.poll_at(now, &env.sockets);
        let mut earliest = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        if let Some(t) = env.finwatch.poll_at() {
            earliest(t);
        }
        for o in &env.orphans {
            earliest(o.deadline);
        }
        for e in self.endpoints.values() {
            if let Kind::Tcp(t) = &e.kind {
                if let Some(d) = t.deadline() {
                    earliest(d);
                }
            }
        }
        at
    }

    fn refill_listeners(&mut self) {
        for e in self.endpoints.values_mut() {
            if let Kind::Tcp(t) = &mut e.kind {
                t.refill(&mut self.env);
            }
        }
    }

    fn distribute_captured(&mut self) {
        while let Some(c) = self.env.link.captured.pop_front() {
            for e in self.endpoints.values_mut() {
                if let Kind::Packet(p) = &mut e.kind {
                    p.deliver(&c);
                }
            }
        }
    }

    /// Recompute every endpoint's readiness; collect wakers of those that gained a bit.
    fn refresh_all(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        for (&id, e) in self.endpoints.iter_mut() {
            let now = e.kind.refresh(&mut self.env, id);
            if !(now - e.last).is_empty() {
                if let Some(w) = &e.waker {
                    wake.push(w.clone());
                }
            }
            e.last = now;
        }
        wake
    }

    pub fn update_capture(&mut self) {
        self.env.link.capture = self
            .endpoints
            .values()
            .any(|e| matches!(e.kind, Kind::Packet(_)));
    }
}

/// What every endpoint handle holds: the core and its id. Dropping it closes the endpoint.
pub(crate) struct Handle {
    pub core: Arc<CoreLock>,
    pub id: EndpointId,
}

impl Handle {
    /// Run `f` on this endpoint's state; ENETDOWN once revoked. If the operation made
    /// the endpoint readier (shutdown, an error taken, ...), its waker is woken: another
    /// thread may sleep on it.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut Env, &mut Kind, EndpointId) -> NetResult<R>,
    ) -> NetResult<R> {
        let mut core = self.core.lock();
        let Core { endpoints, env } = &mut *core;
        let entry = endpoints.get_mut(&self.id).ok_or(NetError::NetDown)?;
        if matches!(entry.kind, Kind::Dead) {
            return Err(NetError::NetDown);
        }
        let r = f(env, &mut entry.kind, self.id);
        let now = entry.kind.refresh(env, self.id);
        let wake = if (now - entry.last).is_empty() {
            None
        } else {
            entry.waker.clone()
        };
        entry.last = now;
        drop(core);
        if let Some(w) = wake {
            w.wake();
        }
        r
    }

    /// Kill this endpoint, as revoking the authority it was made through does: a
    /// connection is reset, later operations fail with ENETDOWN, its waker is woken.
    /// False if it was already dead.
    pub fn revoke(&self) -> bool {
        crate::stack::kill_endpoints(&self.core, |id, _| id == self.id) > 0
    }

    /// Current readiness (Linux poll bits).
    pub fn readiness(&self) -> Readiness {
        let mut core = self.core.lock();
        let Core { endpoints, env } = &mut *core;
        match endpoints.get_mut(&self.id) {
            Some(e) => {
                e.last = e.kind.refresh(env, self.id);
                e.last
            }
            None => Readiness::ERR | Readiness::HUP,
        }
    }

    /// Register the waker woken when readiness gains a bit (replaces the previous one).
    pub fn set_waker(&self, waker: Option<&Waker>) {
        let mut core = self.core.lock();
        if let Some(e) = core.endpoints.get_mut(&self.id) {
            e.waker = waker.cloned();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut core = self.core.lock();
        let Core { endpoints, env } = &mut *core;
        if let Some(entry) = endpoints.remove(&self.id) {
            let was_packet = matches!(entry.kind, Kind::Packet(_));
            entry.kind.close(env, self.id);
            if was_packet {
                core.update_capture();
            }
        }
    }
}
