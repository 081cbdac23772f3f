//! netobj's objects as capability objects: `caps::ObjectType` for the NetStack and each
//! endpoint type, with NetStack rights checked in decode.
//!
//! The socket semantics live in the plain API ([`NetStack`], the endpoints); this module
//! only decodes invocations into it. Two kinds of failure are kept apart: an invocation
//! error (`caps::Error`: unknown label, missing words or caps, a missing right, a bad
//! destination slot) is decided in decode and nothing happens; a socket outcome
//! (EADDRINUSE, EAGAIN, ...) is decided by performing and comes back as the reply's
//! label, 0 for success or the positive Linux errno. Data transfer (send/recv with user
//! buffers) is not an invocation: the kernel reaches the endpoint through
//! `CapSystem::object::<TcpObject>(&cap)` and [`TcpObject::with`].
//!
//! NetStack invocations (per-type rights are the [`NetRights`] bits, 32..40):
//!
//! | label | operation | words | extra caps | right | reply words |
//! |---:|---|---|---|---|---|
//! | 1 | CreateTcp | dest_index, dest_depth[, protocol] | budget, dest_root | TCP_CONNECT or TCP_LISTEN | oid |
//! | 2 | CreateUdp | dest_index, dest_depth[, protocol] | budget, dest_root | UDP | oid |
//! | 3 | CreateIcmp | dest_index, dest_depth[, protocol] | budget, dest_root | ICMP_ECHO | oid |
//! | 4 | CreateRaw | dest_index, dest_depth[, protocol] | budget, dest_root | RAW | oid |
//! | 5 | CreatePacket | dest_index, dest_depth, protocol | budget, dest_root | PACKET | oid |
//! | 6 | Configure | what (0 address, 1 gateway, 2 link up: word 1 nonzero), ipv4 (0 = none), prefix | — | CONFIGURE | — |
//! | 7 | Stats | — | — | READ | rx_frames, tx_frames, endpoints, address, prefix |
//!
//! A missing NetStack right is `InsufficientRights { missing }`; the personality turns it
//! into EPERM or EACCES with [`errno_for_missing`], as Linux would answer. A created
//! endpoint's capability is *made* by the invoked NetStack capability (its CDT child
//! across objects, `caps::CapSystem::prepare_create_by`), so revoking a NetStack
//! capability deletes every endpoint made through it and its copies, and each
//! endpoint object, told it was `revoked`, resets at once (ENETDOWN afterwards) even
//! while a thread still holds it. The object placed in the slot is the stack's
//! [`Wrapper`]'s choice. Endpoints also remember the badge they were made through
//! (`NetStack::revoke(badge)`), and finalizing the NetStack object kills every one.
//!
//! Endpoint invocations (reply label 0 or errno):
//!
//! | label | operation | words | right | types | reply words |
//! |---:|---|---|---|---|---|
//! | 16 | Bind | ipv4, port | WRITE | tcp udp icmp raw | — |
//! | 17 | Connect | ipv4, port | WRITE | tcp udp icmp raw | — |
//! | 18 | Listen | backlog | WRITE | tcp | — |
//! | 19 | Accept | dest_index, dest_depth (+ caps budget, dest_root) | READ | tcp | oid, peer ipv4, peer port |
//! | 20 | Shutdown | how (0 RD, 1 WR, 2 RDWR) | WRITE | tcp udp | — |
//! | 21 | SetOption | level, optname, value | WRITE | tcp udp icmp raw | — |
//! | 22 | GetOption | level, optname | READ | tcp udp icmp raw | value |
//! | 23 | LocalAddr | — | READ | tcp udp icmp | ipv4, port |
//! | 24 | PeerAddr | — | READ | tcp udp | ipv4, port |
//! | 25 | Readiness | — | READ | all | poll bits |

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use caps::{require, CapSystem, CreateTicket, Error, Invocation, ObjectType, Reply, Rights};
use spin::Mutex;

use crate::error::{NetError, NetResult};
use crate::options::SockOpt;
use crate::packet::ETH_P_IP;
use crate::rights::{Caller, NetRights};
use crate::stack::{check_create, Configure, EndpointKind, NetStack};
use crate::tcp::Shutdown;
use crate::{IcmpEndpoint, PacketEndpoint, RawEndpoint, TcpEndpoint, UdpEndpoint};

/// Invocation labels.
pub mod label {
    /// NetStack: create a TCP endpoint.
    pub const CREATE_TCP: u64 = 1;
    /// NetStack: create a UDP endpoint.
    pub const CREATE_UDP: u64 = 2;
    /// NetStack: create a ping endpoint.
    pub const CREATE_ICMP: u64 = 3;
    /// NetStack: create a raw ICMP endpoint.
    pub const CREATE_RAW: u64 = 4;
    /// NetStack: create a packet endpoint.
    pub const CREATE_PACKET: u64 = 5;
    /// NetStack: change address or gateway.
    pub const CONFIGURE: u64 = 6;
    /// NetStack: counters.
    pub const STATS: u64 = 7;
    /// Endpoint: bind.
    pub const BIND: u64 = 16;
    /// Endpoint: connect.
    pub const CONNECT: u64 = 17;
    /// Endpoint: listen.
    pub const LISTEN: u64 = 18;
    /// Endpoint: accept into a new capability.
    pub const ACCEPT: u64 = 19;
    /// Endpoint: shutdown.
    pub const SHUTDOWN: u64 = 20;
    /// Endpoint: setsockopt.
    pub const SET_OPTION: u64 = 21;
    /// Endpoint: getsockopt.
    pub const GET_OPTION: u64 = 22;
    /// Endpoint: getsockname.
    pub const LOCAL_ADDR: u64 = 23;
    /// Endpoint: getpeername.
    pub const PEER_ADDR: u64 = 24;
    /// Endpoint: poll bits.
    pub const READINESS: u64 = 25;
}

/// A NetStack invocation label's name and the rights it checks (any one of them
/// suffices for a Create), for the debug console's trace.
pub fn stack_label(l: u64) -> Option<(&'static str, Rights)> {
    let kind = |k: EndpointKind| cap_rights(k.rights());
    Some(match l {
        label::CREATE_TCP => ("CreateTcp", kind(EndpointKind::Tcp)),
        label::CREATE_UDP => ("CreateUdp", kind(EndpointKind::Udp)),
        label::CREATE_ICMP => ("CreateIcmp", kind(EndpointKind::Icmp)),
        label::CREATE_RAW => ("CreateRaw", kind(EndpointKind::Raw)),
        label::CREATE_PACKET => ("CreatePacket", kind(EndpointKind::Packet)),
        label::CONFIGURE => ("Configure", cap_rights(NetRights::CONFIGURE)),
        label::STATS => ("Stats", Rights::READ),
        _ => return None,
    })
}

/// NetStack rights as caps rights (the same bits).
pub const fn cap_rights(r: NetRights) -> Rights {
    Rights::from_bits_retain(r.bits())
}

/// The errno Linux gives when a NetStack capability lacks `missing` rights: EPERM for
/// raw, packet and configuration (root's privileges), EACCES for the rest.
pub fn errno_for_missing(missing: u64) -> i32 {
    let root_only = NetRights::RAW | NetRights::PACKET | NetRights::CONFIGURE;
    if NetRights::from_bits_truncate(missing).intersects(root_only) {
        NetError::PermissionDenied.errno()
    } else {
        NetError::AccessDenied.errno()
    }
}

const STACK_RIGHT_NAMES: &[(&str, Rights)] = &[
    ("TCP_CONNECT", cap_rights(NetRights::TCP_CONNECT)),
    ("TCP_LISTEN", cap_rights(NetRights::TCP_LISTEN)),
    ("UDP", cap_rights(NetRights::UDP)),
    ("ICMP_ECHO", cap_rights(NetRights::ICMP_ECHO)),
    ("RAW", cap_rights(NetRights::RAW)),
    ("PACKET", cap_rights(NetRights::PACKET)),
    ("BIND_PRIVILEGED", cap_rights(NetRights::BIND_PRIVILEGED)),
    ("CONFIGURE", cap_rights(NetRights::CONFIGURE)),
];

fn reply(r: NetResult<Vec<u64>>) -> Reply {
    match r {
        Ok(words) => Reply::with_words(&words),
        Err(e) => {
            let mut rep = Reply::empty();
            rep.label = e.errno() as u64;
            rep
        }
    }
}

/// Find the destination slot and check the budget for a new object (decode half).
/// The new capability is *made* by the invoked one (a CDT child across objects), so
/// revoking a NetStack capability reaches every endpoint made through it, and a
/// listener's revocation every connection it accepted.
fn creation(sys: &CapSystem, inv: &Invocation<'_>, size: u64) -> caps::Result<CreateTicket> {
    if inv.words.len() < 2 || inv.caps.len() < 2 {
        return Err(Error::TruncatedMessage);
    }
    let dest_root = inv.extra(1)?.cap;
    require(&dest_root, Rights::WRITE)?;
    let dst = sys.lookup_slot_in(&dest_root, inv.word(0)?, inv.word(1)?, false)?;
    sys.prepare_create_by(inv.target.slot, inv.extra(0)?.slot, dst, size)
}

/// A new endpoint, as a NetStack Create invocation makes it.
#[allow(missing_docs)] // one variant per endpoint type
pub enum NewEndpoint {
    Tcp(TcpEndpoint),
    Udp(UdpEndpoint),
    Icmp(IcmpEndpoint),
    Raw(RawEndpoint),
    Packet(PacketEndpoint),
}

/// The object that holds a new endpoint in the creator's CSpace, given the stack, the
/// endpoint, the Caller it was made as and the protocol number the creator named.
/// By default netobj's own endpoint objects ([`TcpObject`], ...); the Linux
/// personality installs one that makes a socket file, so that a descriptor's slot
/// holds the endpoint together with its open-file state.
pub type Wrapper = fn(&NetStack, NewEndpoint, Caller, u32) -> Arc<dyn caps::DynObject>;

/// The default [`Wrapper`]: netobj's endpoint objects.
pub fn endpoint_object(
    _: &NetStack,
    ep: NewEndpoint,
    _: Caller,
    _: u32,
) -> Arc<dyn caps::DynObject> {
    match ep {
        NewEndpoint::Tcp(e) => Arc::new(TcpObject::new(e)),
        NewEndpoint::Udp(e) => Arc::new(UdpObject::new(e)),
        NewEndpoint::Icmp(e) => Arc::new(IcmpObject::new(e)),
        NewEndpoint::Raw(e) => Arc::new(RawObject::new(e)),
        NewEndpoint::Packet(e) => Arc::new(PacketObject::new(e)),
    }
}

/// The NetStack as a capability object.
pub struct NetStackObject {
    stack: NetStack,
    wrap: Wrapper,
}

impl NetStackObject {
    /// Wrap a stack (the kernel creates this at boot, with all rights); endpoints are
    /// netobj's own objects.
    pub fn new(stack: NetStack) -> NetStackObject {
        NetStackObject::with_wrapper(stack, endpoint_object)
    }

    /// A stack whose Create invocations put `wrap`'s objects in the destination slot.
    pub fn with_wrapper(stack: NetStack, wrap: Wrapper) -> NetStackObject {
        NetStackObject { stack, wrap }
    }

    /// The stack, for the kernel's poll loop.
    pub fn stack(&self) -> &NetStack {
        &self.stack
    }

    fn size_of(&self, kind: EndpointKind) -> u64 {
        let cfg = self.stack.config();
        let (tcp, dgram) = (cfg.tcp_buffer_size as u64, cfg.datagram_buffer_size as u64);
        1024 + match kind {
            EndpointKind::Tcp => 2 * tcp,
            EndpointKind::Udp => 2 * dgram,
            EndpointKind::Icmp | EndpointKind::Raw => 2 * dgram.min(256 * 1024),
            EndpointKind::Packet => 4096,
        }
    }
}

/// A decoded NetStack invocation.
pub enum StackOp {
    /// Create an endpoint into the ticket's slot; the protocol number as named.
    Create(EndpointKind, Caller, CreateTicket, u32),
    /// Change addressing.
    Configure(Configure),
    /// Report counters.
    Stats,
}

impl ObjectType for NetStackObject {
    const NAME: &'static str = "netstack";
    const RIGHT_NAMES: &'static [(&'static str, Rights)] = STACK_RIGHT_NAMES;
    type Op = StackOp;

    fn size(&self) -> u64 {
        4096
    }

    fn decode(&self, sys: &CapSystem, inv: &Invocation<'_>) -> caps::Result<StackOp> {
        let have = NetRights::from_bits_truncate(inv.target.cap.rights.bits());
        let kind = match inv.label {
            label::CREATE_TCP => EndpointKind::Tcp,
            label::CREATE_UDP => EndpointKind::Udp,
            label::CREATE_ICMP => EndpointKind::Icmp,
            label::CREATE_RAW => EndpointKind::Raw,
            label::CREATE_PACKET => EndpointKind::Packet,
            label::CONFIGURE => {
                inv.require(cap_rights(NetRights::CONFIGURE))?;
                let (what, ip, prefix) = (inv.word(0)?, inv.word(1)?, inv.word(2)?);
                let ip = u32::try_from(ip).map_err(|_| Error::InvalidArgument { index: 1 })?;
                let ip = (ip != 0).then(|| Ipv4Addr::from(ip));
                return match what {
                    0 if prefix > 32 => Err(Error::RangeError { min: 0, max: 32 }),
                    0 => Ok(StackOp::Configure(Configure::Address(
                        ip.map(|a| (a, prefix as u8)),
                    ))),
                    1 => Ok(StackOp::Configure(Configure::Gateway(ip))),
                    2 => Ok(StackOp::Configure(Configure::LinkUp(ip.is_some()))),
                    _ => Err(Error::InvalidArgument { index: 0 }),
                };
            }
            label::STATS => {
                inv.require(Rights::READ)?;
                return Ok(StackOp::Stats);
            }
            _ => return Err(Error::IllegalOperation),
        };
        if check_create(have, kind).is_err() {
            return Err(Error::InsufficientRights {
                missing: (kind.rights() - have).bits(),
            });
        }
        // Word 2, the protocol: the ethertype of a packet endpoint (ETH_P_IP only);
        // for the others optional and only recorded (SO_PROTOCOL).
        let protocol = match kind {
            EndpointKind::Packet => inv.word(2)?,
            _ => inv.words.get(2).copied().unwrap_or(0),
        };
        if kind == EndpointKind::Packet && protocol != u64::from(ETH_P_IP) {
            return Err(Error::InvalidArgument { index: 2 });
        }
        let protocol = u32::try_from(protocol).map_err(|_| Error::InvalidArgument { index: 2 })?;
        let ticket = creation(sys, inv, self.size_of(kind))?;
        Ok(StackOp::Create(
            kind,
            Caller {
                rights: have,
                origin: inv.target.cap.badge,
            },
            ticket,
            protocol,
        ))
    }

    fn perform(&self, sys: &mut CapSystem, _inv: &Invocation<'_>, op: StackOp) -> Reply {
        match op {
            StackOp::Create(kind, caller, ticket, protocol) => {
                let s = &self.stack;
                let ep = match kind {
                    EndpointKind::Tcp => NewEndpoint::Tcp(s.make_tcp(caller)),
                    EndpointKind::Udp => NewEndpoint::Udp(s.make_udp(caller)),
                    EndpointKind::Icmp => NewEndpoint::Icmp(s.make_icmp(caller)),
                    EndpointKind::Raw => NewEndpoint::Raw(s.make_raw(caller)),
                    EndpointKind::Packet => NewEndpoint::Packet(s.make_packet(caller)),
                };
                let object = (self.wrap)(s, ep, caller, protocol);
                // Cannot fail: decode checked budget and slot under the same lock.
                reply(
                    sys.commit_create(ticket, object, Rights::GENERIC)
                        .map(|c| vec![c.oid])
                        .map_err(|_| NetError::NoBufs),
                )
            }
            StackOp::Configure(change) => reply(
                self.stack
                    .configure(Caller::root(), change)
                    .map(|_| Vec::new()),
            ),
            StackOp::Stats => {
                let st = self.stack.stats();
                let (addr, prefix) = st.address.map_or((0, 0), |(a, p)| (u32::from(a), p));
                reply(Ok(vec![
                    st.link.rx_frames,
                    st.link.tx_frames,
                    st.endpoints as u64,
                    u64::from(addr),
                    u64::from(prefix),
                ]))
            }
        }
    }

    fn finalize(&self) {
        self.stack.revoke_all();
    }

    fn capdl_attrs(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        match self.stack.stats().address {
            Some((a, p)) => write!(out, "address: {a}/{p}"),
            None => write!(out, "address: none"),
        }
    }
}

/// A decoded endpoint invocation.
pub enum EndpointOp {
    /// bind.
    Bind(SocketAddrV4),
    /// connect.
    Connect(SocketAddrV4),
    /// listen.
    Listen(i32),
    /// accept into the ticket's slot.
    Accept(CreateTicket),
    /// shutdown.
    Shutdown(Shutdown),
    /// setsockopt (None: an option the stack does not know, ENOPROTOOPT).
    SetOption(Option<SockOpt>, i32),
    /// getsockopt.
    GetOption(Option<SockOpt>),
    /// getsockname.
    LocalAddr,
    /// getpeername.
    PeerAddr,
    /// poll bits.
    Readiness,
}

fn addr_words(inv: &Invocation<'_>) -> caps::Result<SocketAddrV4> {
    let ip = u32::try_from(inv.word(0)?).map_err(|_| Error::InvalidArgument { index: 0 })?;
    let port = u16::try_from(inv.word(1)?).map_err(|_| Error::RangeError {
        min: 0,
        max: 65_535,
    })?;
    Ok(SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn option_words(inv: &Invocation<'_>) -> caps::Result<Option<SockOpt>> {
    let level = inv.word(0)? as i64 as i32;
    let name = inv.word(1)? as i64 as i32;
    Ok(SockOpt::from_linux(level, name))
}

fn addr_reply(a: SocketAddrV4) -> Vec<u64> {
    vec![u64::from(u32::from(*a.ip())), u64::from(a.port())]
}

/// Decode an endpoint invocation whose label is in `supported`.
fn decode_endpoint(
    sys: &CapSystem,
    inv: &Invocation<'_>,
    supported: &[u64],
    accept_size: u64,
) -> caps::Result<EndpointOp> {
    if !supported.contains(&inv.label) {
        return Err(Error::IllegalOperation);
    }
    let writes = matches!(
        inv.label,
        label::BIND | label::CONNECT | label::LISTEN | label::SHUTDOWN | label::SET_OPTION
    );
    inv.require(if writes { Rights::WRITE } else { Rights::READ })?;
    Ok(match inv.label {
        label::BIND => EndpointOp::Bind(addr_words(inv)?),
        label::CONNECT => EndpointOp::Connect(addr_words(inv)?),
        label::LISTEN => EndpointOp::Listen(inv.word(0)?.clamp(0, i32::MAX as u64) as i32),
        label::ACCEPT => EndpointOp::Accept(creation(sys, inv, accept_size)?),
        label::SHUTDOWN => EndpointOp::Shutdown(match inv.word(0)? {
            0 => Shutdown::Read,
            1 => Shutdown::Write,
            2 => Shutdown::Both,
            _ => return Err(Error::InvalidArgument { index: 0 }),
        }),
        label::SET_OPTION => EndpointOp::SetOption(option_words(inv)?, inv.word(2)? as i64 as i32),
        label::GET_OPTION => EndpointOp::GetOption(option_words(inv)?),
        label::LOCAL_ADDR => EndpointOp::LocalAddr,
        label::PEER_ADDR => EndpointOp::PeerAddr,
        _ => EndpointOp::Readiness,
    })
}

macro_rules! endpoint_object {
    ($(#[$doc:meta])* $name:ident, $ep:ty, $tname:literal, $size:expr, [$($label:expr),*]) => {
        $(#[$doc])*
        pub struct $name {
            ep: Mutex<Option<$ep>>,
        }

        impl $name {
            /// Wrap an endpoint.
            pub fn new(ep: $ep) -> $name {
                $name { ep: Mutex::new(Some(ep)) }
            }

            /// Run `f` on the endpoint; None once the object was finalized.
            pub fn with<R>(&self, f: impl FnOnce(&$ep) -> R) -> Option<R> {
                self.ep.lock().as_ref().map(f)
            }

            fn run(&self, f: impl FnOnce(&$ep) -> NetResult<Vec<u64>>) -> Reply {
                reply(self.with(f).unwrap_or(Err(NetError::NetDown)))
            }
        }

        impl ObjectType for $name {
            const NAME: &'static str = $tname;
            type Op = EndpointOp;

            fn size(&self) -> u64 {
                $size
            }

            fn decode(&self, sys: &CapSystem, inv: &Invocation<'_>) -> caps::Result<EndpointOp> {
                decode_endpoint(sys, inv, &[$($label),*], $size)
            }

            fn perform(&self, sys: &mut CapSystem, _inv: &Invocation<'_>, op: EndpointOp) -> Reply {
                self.apply(sys, op)
            }

            fn revoked(&self) {
                // Reset now, even if someone still holds the endpoint.
                self.with(|e| e.revoke());
            }

            fn finalize(&self) {
                // Dropping the endpoint closes it (FIN or RST) and frees its port.
                self.ep.lock().take();
            }
        }
    };
}

use label::*;

endpoint_object!(
    /// A TCP endpoint as a capability object.
    TcpObject, TcpEndpoint, "tcp", 1024 + 512 * 1024,
    [BIND, CONNECT, LISTEN, ACCEPT, SHUTDOWN, SET_OPTION, GET_OPTION, LOCAL_ADDR, PEER_ADDR, READINESS]
);
endpoint_object!(
    /// A UDP endpoint as a capability object.
    UdpObject, UdpEndpoint, "udp", 1024 + 512 * 1024,
    [BIND, CONNECT, SHUTDOWN, SET_OPTION, GET_OPTION, LOCAL_ADDR, PEER_ADDR, READINESS]
);
endpoint_object!(
    /// A ping endpoint as a capability object.
    IcmpObject, IcmpEndpoint, "icmp", 1024 + 512 * 1024,
    [BIND, CONNECT, SET_OPTION, GET_OPTION, LOCAL_ADDR, READINESS]
);
endpoint_object!(
    /// A raw ICMP endpoint as a capability object.
    RawObject, RawEndpoint, "raw", 1024 + 512 * 1024,
    [BIND, CONNECT, SET_OPTION, GET_OPTION, READINESS]
);
endpoint_object!(
    /// A packet endpoint as a capability object.
    PacketObject, PacketEndpoint, "packet", 4096 + 4096,
    [READINESS]
);

fn get_opt(opt: Option<SockOpt>, f: impl FnOnce(SockOpt) -> NetResult<i32>) -> NetResult<Vec<u64>> {
    let v = f(opt.ok_or(NetError::NoProtoOpt)?)?;
    Ok(vec![v as u32 as u64])
}

fn set_opt(opt: Option<SockOpt>, f: impl FnOnce(SockOpt) -> NetResult<()>) -> NetResult<Vec<u64>> {
    f(opt.ok_or(NetError::NoProtoOpt)?).map(|_| Vec::new())
}

impl TcpObject {
    fn apply(&self, sys: &mut CapSystem, op: EndpointOp) -> Reply {
        if let EndpointOp::Accept(ticket) = op {
            let accepted = self.with(|e| e.accept()).unwrap_or(Err(NetError::NetDown));
            return reply(accepted.and_then(|(child, peer)| {
                let object = Arc::new(TcpObject::new(child));
                let cap = sys
                    .commit_create(ticket, object, Rights::GENERIC)
                    .map_err(|_| NetError::NoBufs)?;
                let mut words = vec![cap.oid];
                words.extend(addr_reply(peer));
                Ok(words)
            }));
        }
        self.run(|e| match op {
            EndpointOp::Bind(a) => e.bind(a).map(|_| Vec::new()),
            EndpointOp::Connect(a) => e.connect(a).map(|_| Vec::new()),
            EndpointOp::Listen(b) => e.listen(b).map(|_| Vec::new()),
            EndpointOp::Shutdown(h) => e.shutdown(h).map(|_| Vec::new()),
            EndpointOp::SetOption(o, v) => set_opt(o, |o| e.set_option(o, v)),
            EndpointOp::GetOption(o) => get_opt(o, |o| e.option(o)),
            EndpointOp::LocalAddr => e.local_addr().map(addr_reply),
            EndpointOp::PeerAddr => e.peer_addr().map(addr_reply),
            EndpointOp::Readiness | EndpointOp::Accept(_) => {
                Ok(vec![u64::from(e.readiness().bits())])
            }
        })
    }
}

impl UdpObject {
    fn apply(&self, _sys: &mut CapSystem, op: EndpointOp) -> Reply {
        self.run(|e| match op {
            EndpointOp::Bind(a) => e.bind(a).map(|_| Vec::new()),
            EndpointOp::Connect(a) => e.connect(a).map(|_| Vec::new()),
            EndpointOp::Shutdown(h) => e.shutdown(h).map(|_| Vec::new()),
            EndpointOp::SetOption(o, v) => set_opt(o, |o| e.set_option(o, v)),
            EndpointOp::GetOption(o) => get_opt(o, |o| e.option(o)),
            EndpointOp::LocalAddr => e.local_addr().map(addr_reply),
            EndpointOp::PeerAddr => e.peer_addr().map(addr_reply),
            _ => Ok(vec![u64::from(e.readiness().bits())]),
        })
    }
}

impl IcmpObject {
    fn apply(&self, _sys: &mut CapSystem, op: EndpointOp) -> Reply {
        self.run(|e| match op {
            EndpointOp::Bind(a) => e.bind(a).map(|_| Vec::new()),
            EndpointOp::Connect(a) => e.connect(a).map(|_| Vec::new()),
            EndpointOp::SetOption(o, v) => set_opt(o, |o| e.set_option(o, v)),
            EndpointOp::GetOption(o) => get_opt(o, |o| e.option(o)),
            EndpointOp::LocalAddr => e.local_addr().map(addr_reply),
            _ => Ok(vec![u64::from(e.readiness().bits())]),
        })
    }
}

impl RawObject {
    fn apply(&self, _sys: &mut CapSystem, op: EndpointOp) -> Reply {
        self.run(|e| match op {
            EndpointOp::Bind(a) => e.bind(a).map(|_| Vec::new()),
            EndpointOp::Connect(a) => e.connect(a).map(|_| Vec::new()),
            EndpointOp::SetOption(o, v) => set_opt(o, |o| e.set_option(o, v)),
            EndpointOp::GetOption(o) => get_opt(o, |o| e.option(o)),
            _ => Ok(vec![u64::from(e.readiness().bits())]),
        })
    }
}

impl PacketObject {
    fn apply(&self, _sys: &mut CapSystem, _op: EndpointOp) -> Reply {
        self.run(|e| Ok(vec![u64::from(e.readiness().bits())]))
    }
}
