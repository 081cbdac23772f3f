//! ICMP echo endpoints with Linux ping-socket semantics (SOCK_DGRAM / IPPROTO_ICMP).
//!
//! The socket owns an *ident*: the port given to bind, or one picked unique in the
//! NetStack (EADDRINUSE if another ping socket holds it). A send must be an echo request
//! (type 8, code 0) of at least 8 bytes, else EINVAL; the stack writes the ident into it
//! and computes the checksum. Only echo replies carrying the socket's ident are received,
//! starting at the ICMP header (no IP header), from port 0; getsockname reports the
//! ident as the port. Creating one needs ICMP_ECHO (else EACCES, as Linux answers outside
//! `ping_group_range`).

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::task::Waker;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::icmp;
use smoltcp::wire::IpAddress;

use crate::core::{EndpointId, Env, Handle, Kind};
use crate::datagram::{copy_into, internet_checksum, Received};
use crate::error::{NetError, NetResult};
use crate::options::{Options, SockKind, SockOpt};
use crate::ports::Proto;
use crate::readiness::Readiness;
use crate::rights::NetRights;
use crate::tcp::bind_checked;

const META_SLOTS: usize = 64;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;

struct Bound {
    local: SocketAddrV4,
    handle: SocketHandle,
}

pub(crate) struct IcmpSock {
    opts: Options,
    rights: NetRights,
    bound: Option<Bound>,
    remote: Option<Ipv4Addr>,
    queue: VecDeque<(Vec<u8>, Ipv4Addr)>,
    queued: usize,
}

impl IcmpSock {
    pub fn new(rights: NetRights) -> IcmpSock {
        IcmpSock {
            opts: Options::new(SockKind::Dgram),
            rights,
            bound: None,
            remote: None,
            queue: VecDeque::new(),
            queued: 0,
        }
    }

    fn bind(&mut self, env: &mut Env, id: EndpointId, addr: SocketAddrV4) -> NetResult<()> {
        if self.bound.is_some() {
            return Err(NetError::Invalid);
        }
        let local = bind_checked(env, id, &self.opts, self.rights, Proto::Icmp, addr)?;
        let size = env.cfg.datagram_buffer_size.min(65_536 * 4);
        let buf = || {
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; META_SLOTS], vec![0; size])
        };
        let mut sock = icmp::Socket::new(buf(), buf());
        sock.set_hop_limit(Some(self.opts.ttl));
        if sock.bind(icmp::Endpoint::Ident(local.port())).is_err() {
            env.ports.release(Proto::Icmp, local.port(), id);
            return Err(NetError::Invalid);
        }
        self.bound = Some(Bound {
            local,
            handle: env.sockets.add(sock),
        });
        Ok(())
    }

    fn ensure_bound(&mut self, env: &mut Env, id: EndpointId) -> NetResult<SocketHandle> {
        if self.bound.is_none() {
            self.bind(env, id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        self.bound
            .as_ref()
            .map(|b| b.handle)
            .ok_or(NetError::Invalid)
    }

    fn send_to(
        &mut self,
        env: &mut Env,
        id: EndpointId,
        data: &[u8],
        dest: Option<SocketAddrV4>,
    ) -> NetResult<usize> {
        if data.len() < 8 || data[0] != ICMP_ECHO_REQUEST || data[1] != 0 {
            return Err(NetError::Invalid);
        }
        let dst = dest
            .map(|d| *d.ip())
            .or(self.remote)
            .ok_or(NetError::DestAddrRequired)?;
        let dst = Env::normalize_dst(dst);
        if data.len() + 20 > env.path_mtu(dst) {
            return Err(NetError::MsgSize);
        }
        if dst.is_broadcast() && !self.opts.broadcast {
            return Err(NetError::AccessDenied);
        }
        env.source_for(dst)?;
        let handle = self.ensure_bound(env, id)?;
        let ident = self.bound.as_ref().map_or(0, |b| b.local.port());
        let mut pkt: Vec<u8> = data.to_vec();
        pkt[4..6].copy_from_slice(&ident.to_be_bytes());
        pkt[2..4].copy_from_slice(&[0, 0]);
        let sum = internet_checksum(&pkt);
        pkt[2..4].copy_from_slice(&sum.to_be_bytes());
        match env
            .sockets
            .get_mut::<icmp::Socket>(handle)
            .send_slice(&pkt, IpAddress::Ipv4(dst))
        {
            Ok(()) => Ok(data.len()),
            Err(icmp::SendError::BufferFull) => Err(NetError::WouldBlock),
            Err(icmp::SendError::Unaddressable) => Err(NetError::NetUnreach),
        }
    }

    /// Move echo replies for us from smoltcp into our queue (smoltcp has no peek for ICMP,
    /// and also queues echo *requests* carrying our ident, e.g. our own pings to
    /// ourselves, which a Linux ping socket never sees).
    fn pull(&mut self, env: &mut Env) {
        let Some(b) = &self.bound else { return };
        let sock = env.sockets.get_mut::<icmp::Socket>(b.handle);
        let limit = self.opts.rcvbuf_value() as usize;
        while let Ok((pkt, from)) = sock.recv() {
            let IpAddress::Ipv4(from) = from;
            let wanted =
                pkt.first() == Some(&ICMP_ECHO_REPLY) && self.remote.is_none_or(|r| r == from);
            if wanted && self.queued + pkt.len() <= limit {
                self.queued += pkt.len();
                self.queue.push_back((pkt.to_vec(), from));
            }
        }
    }

    fn recv_from(&mut self, env: &mut Env, buf: &mut [u8], peek: bool) -> NetResult<Received> {
        self.pull(env);
        let (pkt, from) = self.queue.front().ok_or(NetError::WouldBlock)?;
        let r = Received {
            copied: copy_into(buf, pkt),
            len: pkt.len(),
            from: SocketAddrV4::new(*from, 0),
        };
        if !peek {
            self.queued -= r.len;
            self.queue.pop_front();
        }
        Ok(r)
    }

    pub fn refresh(&mut self, env: &mut Env) -> Readiness {
        self.pull(env);
        let mut r = Readiness::WRITABLE;
        if !self.queue.is_empty() {
            r |= Readiness::READABLE;
        }
        if let Some(b) = &self.bound {
            if !env.sockets.get::<icmp::Socket>(b.handle).can_send() {
                r -= Readiness::WRITABLE;
            }
        }
        r
    }

    pub fn row(&self) -> crate::info::Row {
        crate::info::Row {
            state: crate::info::linux_state::CLOSE,
            local: self
                .bound
                .as_ref()
                .map_or(crate::info::UNBOUND, |b| b.local),
            remote: self.remote.map(|r| SocketAddrV4::new(r, 0)),
            rx_queue: self.queued,
            tx_queue: 0,
        }
    }

    pub fn close(self, env: &mut Env, id: EndpointId) {
        if let Some(b) = self.bound {
            env.sockets.remove(b.handle);
            env.ports.release(Proto::Icmp, b.local.port(), id);
        }
    }
}

/// A ping socket. Dropping it is close() and frees its ident.
pub struct IcmpEndpoint {
    handle: Handle,
}

impl IcmpEndpoint {
    pub(crate) fn new(handle: Handle) -> IcmpEndpoint {
        IcmpEndpoint { handle }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut IcmpSock, &mut Env, EndpointId) -> NetResult<R>,
    ) -> NetResult<R> {
        self.handle.with(|env, kind, id| match kind {
            Kind::Icmp(s) => f(s, env, id),
            _ => Err(NetError::Invalid),
        })
    }

    /// bind(2): the port is the ident (0 picks a free one).
    pub fn bind(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|s, env, id| s.bind(env, id, addr))
    }

    /// connect(2): fixes the peer (replies from others are dropped).
    pub fn connect(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|s, env, id| {
            let dst = Env::normalize_dst(*addr.ip());
            env.source_for(dst)?;
            s.ensure_bound(env, id)?;
            s.remote = Some(dst);
            Ok(())
        })
    }

    /// sendto(2) of an echo request.
    pub fn send_to(&self, data: &[u8], dest: Option<SocketAddrV4>) -> NetResult<usize> {
        self.with(|s, env, id| s.send_to(env, id, data, dest))
    }

    /// recvfrom(2) of an echo reply (ICMP header first, no IP header).
    pub fn recv_from(&self, buf: &mut [u8], peek: bool) -> NetResult<Received> {
        self.with(|s, env, _| s.recv_from(env, buf, peek))
    }

    /// setsockopt(2).
    pub fn set_option(&self, opt: SockOpt, value: i32) -> NetResult<()> {
        self.with(|s, _, _| s.opts.set(opt, value))
    }

    /// getsockopt(2).
    pub fn option(&self, opt: SockOpt) -> NetResult<i32> {
        self.with(|s, _, _| s.opts.get(opt))
    }

    /// getsockname(2): the port is the ident.
    pub fn local_addr(&self) -> NetResult<SocketAddrV4> {
        self.with(|s, _, _| {
            Ok(s.bound
                .as_ref()
                .map_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0), |b| b.local))
        })
    }

    /// poll(2) bits.
    pub fn readiness(&self) -> Readiness {
        self.handle.readiness()
    }

    /// The waker woken when readiness gains a bit.
    pub fn set_waker(&self, waker: Option<&Waker>) {
        self.handle.set_waker(waker)
    }

    /// Kill the endpoint as revoking its authority does (reset, then ENETDOWN).
    pub fn revoke(&self) -> bool {
        self.handle.revoke()
    }

    /// The endpoint's id in its stack (`SocketInfo::id`, /proc/net's inode column).
    pub fn id(&self) -> u64 {
        self.handle.id
    }
}
