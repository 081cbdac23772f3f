//! UDP endpoints (Linux SOCK_DGRAM / IPPROTO_UDP).
//!
//! Backed by a smoltcp UDP socket once bound (explicitly, or implicitly by connect or
//! the first send, to an ephemeral port), plus a companion smoltcp ICMP socket bound to
//! the same UDP port that catches destination-unreachable errors: on a connected socket
//! they become the pending error (ECONNREFUSED for port unreachable) that the next send,
//! recv or SO_ERROR reports, as on Linux. A connected socket only receives from its peer
//! and reports the interface address it sends from in getsockname, never 0.0.0.0.
//!
//! | operation | errors |
//! |---|---|
//! | `bind(addr)` | EINVAL bound, EADDRNOTAVAIL, EADDRINUSE, EACCES (port < 1024) |
//! | `connect(addr)` | ENETUNREACH |
//! | `send_to(data, addr)` | EDESTADDRREQ, EMSGSIZE, EACCES (broadcast without SO_BROADCAST), EAGAIN, ECONNREFUSED |
//! | `recv_from(buf, peek)` | EAGAIN, ECONNREFUSED |

use alloc::vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::task::Waker;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::{icmp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use crate::core::{EndpointId, Env, Handle, Kind};
use crate::datagram::{copy_into, icmp_unreachable, Received};
use crate::error::{NetError, NetResult};
use crate::options::{Options, SockKind, SockOpt};
use crate::ports::Proto;
use crate::readiness::Readiness;
use crate::rights::NetRights;
use crate::tcp::{bind_checked, Shutdown};

/// Largest UDP payload in one IPv4 datagram.
pub const MAX_UDP_PAYLOAD: usize = 65_507;
const META_SLOTS: usize = 512;
const ERROR_SLOTS: usize = 4;

struct Bound {
    local: SocketAddrV4,
    handle: SocketHandle,
    errors: SocketHandle,
}

pub(crate) struct UdpSock {
    opts: Options,
    rights: NetRights,
    bound: Option<Bound>,
    remote: Option<SocketAddrV4>,
    /// The interface address chosen at connect time when bound to 0.0.0.0.
    conn_src: Option<Ipv4Addr>,
    error: Option<NetError>,
    shut_rd: bool,
    shut_wr: bool,
}

pub(crate) fn to_v4(ep: IpEndpoint) -> SocketAddrV4 {
    let IpAddress::Ipv4(a) = ep.addr;
    SocketAddrV4::new(a, ep.port)
}

impl UdpSock {
    pub fn new(rights: NetRights) -> UdpSock {
        UdpSock {
            opts: Options::new(SockKind::Dgram),
            rights,
            bound: None,
            remote: None,
            conn_src: None,
            error: None,
            shut_rd: false,
            shut_wr: false,
        }
    }

    fn bind(&mut self, env: &mut Env, id: EndpointId, addr: SocketAddrV4) -> NetResult<()> {
        if self.bound.is_some() {
            return Err(NetError::Invalid);
        }
        let local = bind_checked(env, id, &self.opts, self.rights, Proto::Udp, addr)?;
        let size = env.cfg.datagram_buffer_size;
        let buf =
            || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; META_SLOTS], vec![0; size]);
        let mut sock = udp::Socket::new(buf(), buf());
        sock.set_hop_limit(Some(self.opts.ttl));
        let ep = IpListenEndpoint {
            addr: (!local.ip().is_unspecified()).then_some(IpAddress::Ipv4(*local.ip())),
            port: local.port(),
        };
        let mut errs = icmp::Socket::new(
            icmp::PacketBuffer::new(
                vec![icmp::PacketMetadata::EMPTY; ERROR_SLOTS],
                vec![0; 2048],
            ),
            icmp::PacketBuffer::new(vec![], vec![]),
        );
        if sock.bind(ep).is_err() || errs.bind(icmp::Endpoint::Udp(ep)).is_err() {
            env.ports.release(Proto::Udp, local.port(), id);
            return Err(NetError::Invalid);
        }
        let handle = env.sockets.add(sock);
        let errors = env.sockets.add(errs);
        self.bound = Some(Bound {
            local,
            handle,
            errors,
        });
        Ok(())
    }

    fn ensure_bound(&mut self, env: &mut Env, id: EndpointId) -> NetResult<()> {
        if self.bound.is_none() {
            self.bind(env, id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        Ok(())
    }

    fn bound_ip(&self) -> Option<Ipv4Addr> {
        self.bound
            .as_ref()
            .map(|b| *b.local.ip())
            .filter(|ip| !ip.is_unspecified())
    }

    fn connect(&mut self, env: &mut Env, id: EndpointId, addr: SocketAddrV4) -> NetResult<()> {
        let dst = Env::normalize_dst(*addr.ip());
        let src = match self.bound_ip() {
            Some(ip) => ip,
            None => env.source_for(dst)?,
        };
        self.ensure_bound(env, id)?;
        self.remote = Some(SocketAddrV4::new(dst, addr.port()));
        self.conn_src = Some(src);
        self.error = None;
        Ok(())
    }

    fn disconnect(&mut self) {
        self.remote = None;
        self.conn_src = None;
        self.error = None;
    }

    fn send_to(
        &mut self,
        env: &mut Env,
        id: EndpointId,
        data: &[u8],
        dest: Option<SocketAddrV4>,
    ) -> NetResult<usize> {
        self.observe(env);
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.shut_wr {
            return Err(NetError::BrokenPipe);
        }
        let dest = dest.or(self.remote).ok_or(NetError::DestAddrRequired)?;
        if dest.port() == 0 {
            return Err(NetError::Invalid);
        }
        let dst = Env::normalize_dst(*dest.ip());
        // No IP fragmentation: a datagram must fit the path (Linux with IP_PMTUDISC_DO).
        if data.len() > MAX_UDP_PAYLOAD || data.len() + 28 > env.path_mtu(dst) {
            return Err(NetError::MsgSize);
        }
        if dst.is_broadcast() && !self.opts.broadcast {
            return Err(NetError::AccessDenied);
        }
        self.ensure_bound(env, id)?;
        let src = match (self.bound_ip(), self.remote, self.conn_src) {
            (Some(ip), _, _) => ip,
            (None, Some(r), Some(s)) if *r.ip() == dst => s,
            _ if dst.is_broadcast() => env.device_addr().unwrap_or(Ipv4Addr::UNSPECIFIED),
            _ => env.source_for(dst)?,
        };
        let Some(b) = &self.bound else {
            return Err(NetError::Invalid);
        };
        let meta = udp::UdpMetadata {
            endpoint: IpEndpoint::new(IpAddress::Ipv4(dst), dest.port()),
            local_address: Some(IpAddress::Ipv4(src)),
            meta: Default::default(),
        };
        match env
            .sockets
            .get_mut::<udp::Socket>(b.handle)
            .send_slice(data, meta)
        {
            Ok(()) => Ok(data.len()),
            Err(udp::SendError::BufferFull) => Err(NetError::WouldBlock),
            Err(udp::SendError::Unaddressable) => Err(NetError::NetUnreach),
        }
    }

    fn recv_from(&mut self, env: &mut Env, buf: &mut [u8], peek: bool) -> NetResult<Received> {
        self.observe(env);
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(b) = &self.bound else {
            return if self.shut_rd {
                Ok(eof())
            } else {
                Err(NetError::WouldBlock)
            };
        };
        let sock = env.sockets.get_mut::<udp::Socket>(b.handle);
        loop {
            let (data, meta) = match sock.peek() {
                Ok((d, m)) => (d, *m),
                Err(_) if self.shut_rd => return Ok(eof()),
                Err(_) => return Err(NetError::WouldBlock),
            };
            let from = to_v4(meta.endpoint);
            // A connected socket only hears its peer; Linux drops the rest.
            if self.remote.is_some_and(|r| r != from) {
                let _ = sock.recv();
                continue;
            }
            let r = Received {
                copied: copy_into(buf, data),
                len: data.len(),
                from,
            };
            if !peek {
                let _ = sock.recv();
            }
            return Ok(r);
        }
    }

    /// Turn ICMP errors about our datagrams into the pending error (connected only,
    /// and only for errors about datagrams to our peer, as Linux's lookup does).
    fn observe(&mut self, env: &mut Env) {
        let Some(b) = &self.bound else { return };
        let errs = env.sockets.get_mut::<icmp::Socket>(b.errors);
        while let Ok((pkt, _from)) = errs.recv() {
            let Some(remote) = self.remote else { continue };
            if let Some(u) = icmp_unreachable(pkt) {
                if u.proto == 17 && u.dst == remote {
                    self.error = Some(u.err);
                }
            }
        }
    }

    pub fn refresh(&mut self, env: &mut Env) -> Readiness {
        self.observe(env);
        let mut r = Readiness::empty();
        let readable = self
            .bound
            .as_ref()
            .is_some_and(|b| env.sockets.get::<udp::Socket>(b.handle).can_recv());
        if readable || self.shut_rd {
            r |= Readiness::READABLE;
        }
        if self.shut_rd {
            r |= Readiness::RDHUP;
        }
        if self.shut_rd && self.shut_wr {
            r |= Readiness::HUP;
        }
        let writable = self
            .bound
            .as_ref()
            .is_none_or(|b| env.sockets.get::<udp::Socket>(b.handle).can_send());
        if writable || self.shut_wr {
            r |= Readiness::WRITABLE;
        }
        if self.error.is_some() {
            r |= Readiness::ERR;
        }
        r
    }

    pub fn close(self, env: &mut Env, id: EndpointId) {
        if let Some(b) = self.bound {
            env.sockets.remove(b.handle);
            env.sockets.remove(b.errors);
            env.ports.release(Proto::Udp, b.local.port(), id);
        }
    }

    pub fn row(&self, env: &Env) -> crate::info::Row {
        let (rx, tx) = self.bound.as_ref().map_or((0, 0), |b| {
            let s = env.sockets.get::<udp::Socket>(b.handle);
            (s.recv_queue(), s.send_queue())
        });
        crate::info::Row {
            state: if self.remote.is_some() {
                crate::info::linux_state::ESTABLISHED
            } else {
                crate::info::linux_state::CLOSE
            },
            local: self.local_addr(),
            remote: self.remote,
            rx_queue: rx,
            tx_queue: tx,
        }
    }

    fn local_addr(&self) -> SocketAddrV4 {
        match &self.bound {
            None => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            Some(b) => match self.conn_src {
                Some(src) if b.local.ip().is_unspecified() => {
                    SocketAddrV4::new(src, b.local.port())
                }
                _ => b.local,
            },
        }
    }
}

fn eof() -> Received {
    Received {
        copied: 0,
        len: 0,
        from: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
    }
}

/// A UDP endpoint (a Linux SOCK_DGRAM socket). Dropping it is close().
pub struct UdpEndpoint {
    handle: Handle,
}

impl UdpEndpoint {
    pub(crate) fn new(handle: Handle) -> UdpEndpoint {
        UdpEndpoint { handle }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut UdpSock, &mut Env, EndpointId) -> NetResult<R>,
    ) -> NetResult<R> {
        self.handle.with(|env, kind, id| match kind {
            Kind::Udp(u) => f(u, env, id),
            _ => Err(NetError::Invalid),
        })
    }

    /// bind(2); port 0 picks an ephemeral port.
    pub fn bind(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|u, env, id| u.bind(env, id, addr))
    }

    /// connect(2): fixes the peer; binds an ephemeral port if unbound.
    pub fn connect(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|u, env, id| u.connect(env, id, addr))
    }

    /// connect(2) with AF_UNSPEC: forget the peer.
    pub fn disconnect(&self) -> NetResult<()> {
        self.with(|u, _, _| {
            u.disconnect();
            Ok(())
        })
    }

    /// send(2) / sendto(2); `dest` None uses the connected peer.
    pub fn send_to(&self, data: &[u8], dest: Option<SocketAddrV4>) -> NetResult<usize> {
        self.with(|u, env, id| u.send_to(env, id, data, dest))
    }

    /// recvfrom(2); `peek` is MSG_PEEK.
    pub fn recv_from(&self, buf: &mut [u8], peek: bool) -> NetResult<Received> {
        self.with(|u, env, _| u.recv_from(env, buf, peek))
    }

    /// shutdown(2): ENOTCONN unless connected, as Linux (the halves are still marked).
    pub fn shutdown(&self, how: Shutdown) -> NetResult<()> {
        self.with(|u, _, _| {
            u.shut_rd |= how != Shutdown::Write;
            u.shut_wr |= how != Shutdown::Read;
            if u.remote.is_some() {
                Ok(())
            } else {
                Err(NetError::NotConnected)
            }
        })
    }

    /// setsockopt(2).
    pub fn set_option(&self, opt: SockOpt, value: i32) -> NetResult<()> {
        self.with(|u, env, _| {
            u.opts.set(opt, value)?;
            if let Some(b) = &u.bound {
                env.sockets
                    .get_mut::<udp::Socket>(b.handle)
                    .set_hop_limit(Some(u.opts.ttl));
            }
            Ok(())
        })
    }

    /// getsockopt(2); SO_ERROR reads and clears the pending error.
    pub fn option(&self, opt: SockOpt) -> NetResult<i32> {
        self.with(|u, env, _| match opt {
            SockOpt::Error => {
                u.observe(env);
                Ok(u.error.take().map_or(0, |e| e.errno()))
            }
            _ => u.opts.get(opt),
        })
    }

    /// getsockname(2).
    pub fn local_addr(&self) -> NetResult<SocketAddrV4> {
        self.with(|u, _, _| Ok(u.local_addr()))
    }

    /// getpeername(2).
    pub fn peer_addr(&self) -> NetResult<SocketAddrV4> {
        self.with(|u, _, _| u.remote.ok_or(NetError::NotConnected))
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
