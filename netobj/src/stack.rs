//! [`NetStack`]: one network stack over one [`NetDevice`], and the invocations on it.
//!
//! | invocation | right needed | error without it |
//! |---|---|---|
//! | `create_tcp` | TCP_CONNECT or TCP_LISTEN | EACCES |
//! | `create_udp` | UDP | EACCES |
//! | `create_icmp` | ICMP_ECHO | EACCES (Linux outside ping_group_range) |
//! | `create_raw` | RAW | EPERM |
//! | `create_packet` | PACKET | EPERM |
//! | `configure` | CONFIGURE | EPERM |
//! | `stats` | none | |
//!
//! The kernel drives the stack with `poll(now)` whenever the device interrupts or the
//! instant from `poll_at` has come; there is no periodic tick. `poll` wakes the wakers of
//! endpoints whose readiness gained a bit. Time is always the caller's.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Cidr};

use crate::core::{Core, CoreLock, EndpointId, Entry, Env, Handle, Kind};
use crate::device::{Link, LinkStats, NetDevice};
use crate::error::{NetError, NetResult};
use crate::icmp::{IcmpEndpoint, IcmpSock};
use crate::info::SocketInfo;
use crate::packet::{PacketEndpoint, PacketSock, ETH_P_IP};
use crate::ports::Ports;
use crate::raw::{RawEndpoint, RawSock};
use crate::readiness::Readiness;
use crate::rights::{Caller, NetRights};
use crate::tcp::{TcpEndpoint, TcpSock};
use crate::udp::{UdpEndpoint, UdpSock};

/// How a stack is set up.
#[derive(Debug, Clone, Copy)]
pub struct StackConfig {
    /// The device's address and prefix length (None until DHCP or `configure`).
    pub address: Option<(Ipv4Addr, u8)>,
    /// The default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Default TCP send and receive buffer size (window scaling is negotiated from it).
    pub tcp_buffer_size: usize,
    /// Payload buffer of each datagram endpoint, per direction.
    pub datagram_buffer_size: usize,
    /// How long a SYN may go unanswered before connect fails with ETIMEDOUT
    /// (Linux: about 127 s with tcp_syn_retries = 6).
    pub connect_timeout: Duration,
    /// Seed for initial sequence numbers and port choice.
    pub random_seed: u64,
    /// The device is up (IFF_UP): see [`Configure::LinkUp`].
    pub link_up: bool,
}

impl Default for StackConfig {
    fn default() -> StackConfig {
        StackConfig {
            address: None,
            gateway: None,
            tcp_buffer_size: 256 * 1024,
            datagram_buffer_size: 256 * 1024,
            connect_timeout: Duration::from_secs(127),
            random_seed: 0x05ee_d0f0_bec7,
            link_up: true,
        }
    }
}

/// A change made by the Configure invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configure {
    /// Set (or remove) the device address and prefix (SIOCSIFADDR / RTM_NEWADDR).
    Address(Option<(Ipv4Addr, u8)>),
    /// Set (or remove) the default gateway (SIOCADDRT / RTM_NEWROUTE).
    Gateway(Option<Ipv4Addr>),
    /// Bring the device up or down (SIOCSIFFLAGS IFF_UP). Down, no frame is sent or
    /// received on it, its address stops being used (sends to other hosts are
    /// unreachable) and the default route through it is deleted, as Linux deletes the
    /// routes through a downed device; up, the address is back, the route is not.
    LinkUp(bool),
}

/// What the Stats invocation reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Link counters.
    pub link: LinkStats,
    /// Live endpoints (including revoked ones still held).
    pub endpoints: usize,
    /// smoltcp sockets in use (listening pools and orphans included).
    pub sockets: usize,
    /// Closed TCP connections still winding down.
    pub orphans: usize,
    /// The device address.
    pub address: Option<(Ipv4Addr, u8)>,
    /// The default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// The device MTU.
    pub mtu: usize,
}

/// A network stack. Cloning gives another handle to the same stack.
#[derive(Clone)]
pub struct NetStack {
    core: Arc<CoreLock>,
}

impl NetStack {
    /// A stack over `device`, at time `now`.
    pub fn new(device: Box<dyn NetDevice>, mut config: StackConfig, now: Instant) -> NetStack {
        // A prefix over 32 from a careless caller means a host address, not a panic.
        config.address = config.address.map(|(a, p)| (a, p.min(32)));
        let mut link = Link::new(device);
        let mut ic = Config::new(HardwareAddress::Ethernet(EthernetAddress(link.mac())));
        ic.random_seed = config.random_seed;
        let iface = Interface::new(ic, &mut link, now);
        let mut sockets = SocketSet::new(Vec::new());
        let sink = smoltcp::socket::raw::Socket::new(
            Some(smoltcp::wire::IpVersion::Ipv4),
            Some(smoltcp::wire::IpProtocol::Icmp),
            smoltcp::socket::raw::PacketBuffer::new(
                alloc::vec![smoltcp::socket::raw::PacketMetadata::EMPTY; 32],
                alloc::vec![0; 16 * 1024],
            ),
            smoltcp::socket::raw::PacketBuffer::new(Vec::new(), Vec::new()),
        );
        let icmp_sink = sockets.add(sink);
        let mut env = Env {
            iface,
            sockets,
            icmp_sink,
            tcp_errors: Vec::new(),
            link,
            ports: Ports::new(config.random_seed),
            orphans: Vec::new(),
            cfg: config,
            now,
            next_id: 0,
            more_rx: false,
            finwatch: Default::default(),
        };
        apply_addressing(&mut env);
        NetStack {
            core: Arc::new(CoreLock::new(Core {
                endpoints: BTreeMap::new(),
                env,
            })),
        }
    }

    /// Process received frames, timers and pending sends; wake endpoints that became
    /// ready. Returns how many wakers were woken.
    pub fn poll(&self, now: Instant) -> usize {
        let wakers = self.core.lock().poll(now);
        // Wake outside the lock: a waker may run code that uses this stack.
        for w in &wakers {
            w.wake_by_ref();
        }
        wakers.len()
    }

    /// When `poll` must run next even if no frame arrives (None: only on a frame).
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.core.lock().poll_at(now)
    }

    fn insert(&self, caller: Caller, kind: Kind) -> Handle {
        let mut core = self.core.lock();
        let id = core.env.alloc_id();
        let entry = Entry {
            origin: caller.origin,
            kind,
            waker: None,
            last: Readiness::empty(),
        };
        core.endpoints.insert(id, entry);
        if matches!(
            core.endpoints.get(&id).map(|e| &e.kind),
            Some(Kind::Packet(_))
        ) {
            core.update_capture();
        }
        Handle {
            core: self.core.clone(),
            id,
        }
    }

    /// CreateTcp: socket(AF_INET, SOCK_STREAM, 0).
    pub fn create_tcp(&self, caller: Caller) -> NetResult<TcpEndpoint> {
        check_create(caller.rights, EndpointKind::Tcp)?;
        Ok(self.make_tcp(caller))
    }

    /// CreateUdp: socket(AF_INET, SOCK_DGRAM, 0).
    pub fn create_udp(&self, caller: Caller) -> NetResult<UdpEndpoint> {
        check_create(caller.rights, EndpointKind::Udp)?;
        Ok(self.make_udp(caller))
    }

    /// CreateIcmp: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), a ping socket.
    pub fn create_icmp(&self, caller: Caller) -> NetResult<IcmpEndpoint> {
        check_create(caller.rights, EndpointKind::Icmp)?;
        Ok(self.make_icmp(caller))
    }

    /// CreateRaw: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).
    pub fn create_raw(&self, caller: Caller) -> NetResult<RawEndpoint> {
        check_create(caller.rights, EndpointKind::Raw)?;
        Ok(self.make_raw(caller))
    }

    /// CreatePacket: socket(AF_PACKET, SOCK_DGRAM, htons(protocol)); only ETH_P_IP.
    pub fn create_packet(&self, caller: Caller, protocol: u16) -> NetResult<PacketEndpoint> {
        check_create(caller.rights, EndpointKind::Packet)?;
        if protocol != ETH_P_IP {
            return Err(NetError::Invalid);
        }
        Ok(self.make_packet(caller))
    }

    // The make_* functions create without checking: for callers that checked rights
    // already (the capability layer's decode step).
    pub(crate) fn make_tcp(&self, caller: Caller) -> TcpEndpoint {
        TcpEndpoint::new(self.insert(caller, Kind::Tcp(TcpSock::new(caller.rights))))
    }

    pub(crate) fn make_udp(&self, caller: Caller) -> UdpEndpoint {
        UdpEndpoint::new(self.insert(caller, Kind::Udp(UdpSock::new(caller.rights))))
    }

    pub(crate) fn make_icmp(&self, caller: Caller) -> IcmpEndpoint {
        IcmpEndpoint::new(self.insert(caller, Kind::Icmp(IcmpSock::new(caller.rights))))
    }

    pub(crate) fn make_raw(&self, caller: Caller) -> RawEndpoint {
        let sock = RawSock::new(&mut self.core.lock().env);
        RawEndpoint::new(self.insert(caller, Kind::Raw(sock)))
    }

    pub(crate) fn make_packet(&self, caller: Caller) -> PacketEndpoint {
        PacketEndpoint::new(self.insert(caller, Kind::Packet(PacketSock::new())))
    }

    /// Configure: change the address or the default gateway.
    pub fn configure(&self, caller: Caller, change: Configure) -> NetResult<()> {
        caller
            .rights
            .require(NetRights::CONFIGURE, NetError::PermissionDenied)?;
        let mut core = self.core.lock();
        match change {
            Configure::Address(Some((_, prefix))) if prefix > 32 => return Err(NetError::Invalid),
            Configure::Address(a) => core.env.cfg.address = a,
            Configure::Gateway(g) => core.env.cfg.gateway = g,
            Configure::LinkUp(up) => {
                core.env.cfg.link_up = up;
                if !up {
                    core.env.cfg.gateway = None;
                }
            }
        }
        apply_addressing(&mut core.env);
        Ok(())
    }

    /// The configuration the stack runs with (address and gateway as configured now).
    pub fn config(&self) -> StackConfig {
        self.core.lock().env.cfg
    }

    /// Every socket of the stack (for /proc/net/* and the console's `socks`).
    pub fn sockets(&self) -> Vec<SocketInfo> {
        self.core.lock().socket_infos()
    }

    /// Stats: counters and configuration.
    pub fn stats(&self) -> Stats {
        let core = self.core.lock();
        Stats {
            link: core.env.link.tx.stats,
            endpoints: core.endpoints.len(),
            // The stack's own ICMP sink is not a socket anyone asked for.
            sockets: core.env.sockets.iter().count() - 1,
            orphans: core.env.orphans.len(),
            address: core.env.cfg.address,
            gateway: core.env.cfg.gateway,
            mtu: core.env.link.mtu(),
        }
    }

    /// Kill every endpoint created through the capability `origin` (its revocation):
    /// connections are reset, ports and idents freed; the holders' later operations fail
    /// with ENETDOWN and their wakers are woken. Returns how many endpoints died.
    pub fn revoke(&self, origin: u64) -> usize {
        self.kill_where(|o| o == origin)
    }

    /// Kill every endpoint of the stack (the NetStack object itself is finalized).
    pub fn revoke_all(&self) -> usize {
        self.kill_where(|_| true)
    }

    fn kill_where(&self, doomed: impl Fn(u64) -> bool) -> usize {
        kill_endpoints(&self.core, |_, e| doomed(e.origin))
    }
}

/// The endpoint types, for right checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// TCP (TCP_CONNECT or TCP_LISTEN).
    Tcp,
    /// UDP (UDP).
    Udp,
    /// Ping socket (ICMP_ECHO).
    Icmp,
    /// Raw ICMP (RAW).
    Raw,
    /// AF_PACKET (PACKET).
    Packet,
}

impl EndpointKind {
    /// The rights of which creating this kind needs at least one.
    pub const fn rights(self) -> NetRights {
        match self {
            EndpointKind::Tcp => NetRights::TCP_CONNECT.union(NetRights::TCP_LISTEN),
            EndpointKind::Udp => NetRights::UDP,
            EndpointKind::Icmp => NetRights::ICMP_ECHO,
            EndpointKind::Raw => NetRights::RAW,
            EndpointKind::Packet => NetRights::PACKET,
        }
    }

    /// What Linux answers when the right is missing: EPERM for raw and packet sockets
    /// (root's privilege on Linux), EACCES otherwise (ping_group_range and the like).
    pub const fn denied(self) -> NetError {
        match self {
            EndpointKind::Raw | EndpointKind::Packet => NetError::PermissionDenied,
            _ => NetError::AccessDenied,
        }
    }
}

/// Check that `rights` allow creating `kind`.
pub fn check_create(rights: NetRights, kind: EndpointKind) -> NetResult<()> {
    if rights.intersects(kind.rights()) {
        Ok(())
    } else {
        Err(kind.denied())
    }
}

/// Push the configured addresses and gateway into smoltcp and the link.
fn apply_addressing(env: &mut Env) {
    env.link.tx.wire_up = env.cfg.link_up;
    // A down device's address is kept in the configuration but not used.
    let address = env.cfg.address.filter(|_| env.cfg.link_up);
    env.iface.update_ip_addrs(|addrs| {
        addrs.clear();
        if let Some((a, p)) = address {
            let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(a, p.min(32))));
        }
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Addr::LOCALHOST), 8));
    });
    let routes = env.iface.routes_mut();
    routes.remove_default_ipv4_route();
    if let Some(gw) = env.cfg.gateway {
        let _ = routes.add_default_ipv4_route(gw);
    }
    env.link.tx.local_ip = address.map(|(a, _)| a);
}

/// Kill the endpoints `doomed` picks: connections are reset, ports and idents freed,
/// their state replaced by `Dead` (later operations: ENETDOWN) and their wakers woken.
/// Returns how many died.
pub(crate) fn kill_endpoints(
    core: &CoreLock,
    doomed: impl Fn(EndpointId, &Entry) -> bool,
) -> usize {
    let mut wakers = Vec::new();
    {
        let mut core = core.lock();
        let Core { endpoints, env } = &mut *core;
        for (&id, e) in endpoints.iter_mut() {
            if !doomed(id, e) {
                continue;
            }
            match core::mem::replace(&mut e.kind, Kind::Dead) {
                Kind::Tcp(t) => t.kill(env, id),
                Kind::Dead => continue,
                other => other.close(env, id),
            }
            wakers.extend(e.waker.clone());
        }
        core.update_capture();
    }
    for w in &wakers {
        w.wake_by_ref();
    }
    wakers.len()
}
