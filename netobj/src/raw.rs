//! Raw ICMP endpoints (SOCK_RAW / IPPROTO_ICMP), which root's busybox ping uses.
//!
//! Sends take an ICMP message (the caller computes its checksum, as on Linux) and the
//! stack prepends the IPv4 header; receives return every ICMP packet *with* its IPv4
//! header. Creating one needs the RAW right, else EPERM, exactly what an unprivileged
//! Linux process gets.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::task::Waker;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::raw;
use smoltcp::wire::{IpProtocol, IpVersion};

use crate::core::{Env, Handle, Kind};
use crate::datagram::{copy_into, internet_checksum, Received};
use crate::error::{NetError, NetResult};
use crate::options::{Options, SockKind, SockOpt};
use crate::readiness::Readiness;

const META_SLOTS: usize = 64;

pub(crate) struct RawSock {
    opts: Options,
    handle: SocketHandle,
    bound_ip: Option<Ipv4Addr>,
    remote: Option<Ipv4Addr>,
    next_ip_id: u16,
}

impl RawSock {
    pub fn new(env: &mut Env) -> RawSock {
        let size = env.cfg.datagram_buffer_size.min(65_536 * 4);
        let buf =
            || raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; META_SLOTS], vec![0; size]);
        let sock = raw::Socket::new(Some(IpVersion::Ipv4), Some(IpProtocol::Icmp), buf(), buf());
        RawSock {
            opts: Options::new(SockKind::Raw),
            handle: env.sockets.add(sock),
            bound_ip: None,
            remote: None,
            next_ip_id: 1,
        }
    }

    fn send_to(
        &mut self,
        env: &mut Env,
        data: &[u8],
        dest: Option<SocketAddrV4>,
    ) -> NetResult<usize> {
        let dst = dest
            .map(|d| *d.ip())
            .or(self.remote)
            .ok_or(NetError::DestAddrRequired)?;
        let dst = Env::normalize_dst(dst);
        if dst.is_broadcast() && !self.opts.broadcast {
            return Err(NetError::AccessDenied);
        }
        let total = data.len() + 20;
        if total > env.path_mtu(dst) {
            return Err(NetError::MsgSize);
        }
        let src = match self.bound_ip {
            Some(ip) => ip,
            None => env.source_for(dst)?,
        };
        let mut pkt: Vec<u8> = Vec::with_capacity(total);
        pkt.extend_from_slice(&[0x45, 0]);
        pkt.extend_from_slice(&(total as u16).to_be_bytes());
        pkt.extend_from_slice(&self.next_ip_id.to_be_bytes());
        self.next_ip_id = self.next_ip_id.wrapping_add(1);
        pkt.extend_from_slice(&[0x40, 0, self.opts.ttl, 1, 0, 0]); // DF, TTL, ICMP, checksum
        pkt.extend_from_slice(&src.octets());
        pkt.extend_from_slice(&dst.octets());
        let sum = internet_checksum(&pkt[..20]);
        pkt[10..12].copy_from_slice(&sum.to_be_bytes());
        pkt.extend_from_slice(data);
        match env
            .sockets
            .get_mut::<raw::Socket>(self.handle)
            .send_slice(&pkt)
        {
            Ok(()) => Ok(data.len()),
            Err(raw::SendError::BufferFull) => Err(NetError::WouldBlock),
        }
    }

    fn recv_from(&mut self, env: &mut Env, buf: &mut [u8], peek: bool) -> NetResult<Received> {
        let sock = env.sockets.get_mut::<raw::Socket>(self.handle);
        loop {
            let pkt = sock.peek().map_err(|_| NetError::WouldBlock)?;
            if pkt.len() < 20 {
                let _ = sock.recv();
                continue;
            }
            let from = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
            if self.remote.is_some_and(|r| r != from) {
                let _ = sock.recv();
                continue;
            }
            let r = Received {
                copied: copy_into(buf, pkt),
                len: pkt.len(),
                from: SocketAddrV4::new(from, 0),
            };
            if !peek {
                let _ = sock.recv();
            }
            return Ok(r);
        }
    }

    pub fn refresh(&mut self, env: &mut Env) -> Readiness {
        let sock = env.sockets.get::<raw::Socket>(self.handle);
        let mut r = Readiness::empty();
        if sock.can_recv() {
            r |= Readiness::READABLE;
        }
        if sock.can_send() {
            r |= Readiness::WRITABLE;
        }
        r
    }

    pub fn row(&self, env: &Env) -> crate::info::Row {
        let s = env.sockets.get::<raw::Socket>(self.handle);
        crate::info::Row {
            state: crate::info::linux_state::CLOSE,
            local: SocketAddrV4::new(self.bound_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), 1),
            remote: self.remote.map(|r| SocketAddrV4::new(r, 0)),
            rx_queue: s.recv_queue(),
            tx_queue: s.send_queue(),
        }
    }

    pub fn close(self, env: &mut Env) {
        env.sockets.remove(self.handle);
    }
}

/// A raw ICMP endpoint. Dropping it is close().
pub struct RawEndpoint {
    handle: Handle,
}

impl RawEndpoint {
    pub(crate) fn new(handle: Handle) -> RawEndpoint {
        RawEndpoint { handle }
    }

    fn with<R>(&self, f: impl FnOnce(&mut RawSock, &mut Env) -> NetResult<R>) -> NetResult<R> {
        self.handle.with(|env, kind, _| match kind {
            Kind::Raw(s) => f(s, env),
            _ => Err(NetError::Invalid),
        })
    }

    /// bind(2): only the address matters for raw sockets.
    pub fn bind(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|s, env| {
            if !env.is_bindable(*addr.ip()) {
                return Err(NetError::AddrNotAvail);
            }
            s.bound_ip = (!addr.ip().is_unspecified()).then_some(*addr.ip());
            Ok(())
        })
    }

    /// connect(2): fixes the peer.
    pub fn connect(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|s, _| {
            s.remote = Some(Env::normalize_dst(*addr.ip()));
            Ok(())
        })
    }

    /// sendto(2) of an ICMP message (the stack adds the IPv4 header).
    pub fn send_to(&self, data: &[u8], dest: Option<SocketAddrV4>) -> NetResult<usize> {
        self.with(|s, env| s.send_to(env, data, dest))
    }

    /// recvfrom(2): the whole IPv4 packet, header first.
    pub fn recv_from(&self, buf: &mut [u8], peek: bool) -> NetResult<Received> {
        self.with(|s, env| s.recv_from(env, buf, peek))
    }

    /// setsockopt(2).
    pub fn set_option(&self, opt: SockOpt, value: i32) -> NetResult<()> {
        self.with(|s, _| s.opts.set(opt, value))
    }

    /// getsockopt(2).
    pub fn option(&self, opt: SockOpt) -> NetResult<i32> {
        self.with(|s, _| s.opts.get(opt))
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
