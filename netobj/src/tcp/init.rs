//! A TCP endpoint before connect or listen: it may hold a bound address, nothing else.
//!
//! From here `connect` produces a `Connecting` endpoint and `listen` a `Listening` one;
//! on failure the endpoint stays as it was.

use core::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::wire::IpAddress;

use super::connecting::Connecting;
use super::listen::Listening;
use super::new_socket;
use crate::core::{EndpointId, Env};
use crate::error::{NetError, NetResult};
use crate::options::Options;
use crate::ports::Proto;
use crate::rights::NetRights;

pub(crate) struct Init {
    /// The address bound by `bind` (the port is reserved under the endpoint's id).
    pub bound: Option<SocketAddrV4>,
}

impl Init {
    pub fn bind(
        &mut self,
        env: &mut Env,
        id: EndpointId,
        opts: &Options,
        rights: NetRights,
        addr: SocketAddrV4,
    ) -> NetResult<()> {
        if self.bound.is_some() {
            return Err(NetError::Invalid);
        }
        *self = Init {
            bound: Some(bind_checked(env, id, opts, rights, Proto::Tcp, addr)?),
        };
        Ok(())
    }

    pub fn connect(
        &self,
        env: &mut Env,
        id: EndpointId,
        opts: &Options,
        rights: NetRights,
        remote: SocketAddrV4,
    ) -> NetResult<Connecting> {
        rights.require(NetRights::TCP_CONNECT, NetError::AccessDenied)?;
        let dst = Env::normalize_dst(*remote.ip());
        if dst.is_broadcast() || dst.is_multicast() {
            return Err(NetError::NetUnreach);
        }
        if remote.port() == 0 {
            return Err(NetError::ConnRefused);
        }
        let src = match self.bound {
            Some(b) if !b.ip().is_unspecified() => *b.ip(),
            _ => env.source_for(dst)?,
        };
        let (port, auto_port) = match self.bound {
            Some(b) => (b.port(), false),
            None => {
                let p =
                    env.ports
                        .bind(Proto::Tcp, Ipv4Addr::UNSPECIFIED, 0, id, opts.reuse_addr)?;
                (p, true)
            }
        };
        if let Some(hop) = env.next_hop(dst) {
            env.link.tx.arp.forget(hop);
        }
        let mut sock = new_socket(env, opts);
        let local = (IpAddress::Ipv4(src), port);
        if sock
            .connect(
                env.iface.context(),
                (IpAddress::Ipv4(dst), remote.port()),
                local,
            )
            .is_err()
        {
            if auto_port {
                env.ports.release(Proto::Tcp, port, id);
            }
            return Err(NetError::AddrNotAvail);
        }
        let local = SocketAddrV4::new(src, port);
        let remote = SocketAddrV4::new(dst, remote.port());
        let isn = super::isn::initial_seq(env.cfg.random_seed, local, remote, env.now);
        sock.set_initial_seq_no(smoltcp::wire::TcpSeqNumber(isn as i32));
        let handle = env.sockets.add(sock);
        Ok(Connecting::new(
            handle,
            local,
            remote,
            if auto_port { None } else { self.bound },
            env.now + env.cfg.connect_timeout,
        ))
    }

    pub fn listen(
        &self,
        env: &mut Env,
        id: EndpointId,
        opts: &Options,
        rights: NetRights,
        backlog: i32,
    ) -> NetResult<Listening> {
        rights.require(NetRights::TCP_LISTEN, NetError::AccessDenied)?;
        let (local, auto) = match self.bound {
            Some(b) => (b, false),
            None => {
                let any = Ipv4Addr::UNSPECIFIED;
                let p = env.ports.bind(Proto::Tcp, any, 0, id, opts.reuse_addr)?;
                (SocketAddrV4::new(any, p), true)
            }
        };
        if let Err(e) = env.ports.listen(Proto::Tcp, local.port(), id) {
            if auto {
                env.ports.release(Proto::Tcp, local.port(), id);
            }
            return Err(e);
        }
        Ok(Listening::new(env, opts, local, backlog))
    }
}

/// Validate and reserve a bind address: own address (EADDRNOTAVAIL), privileged port
/// (EACCES without BIND_PRIVILEGED), free port (EADDRINUSE).
pub(crate) fn bind_checked(
    env: &mut Env,
    id: EndpointId,
    opts: &Options,
    rights: NetRights,
    proto: Proto,
    addr: SocketAddrV4,
) -> NetResult<SocketAddrV4> {
    let ip = *addr.ip();
    let broadcast_ok = proto == Proto::Udp && ip.is_broadcast();
    if !env.is_bindable(ip) && !broadcast_ok {
        return Err(NetError::AddrNotAvail);
    }
    if proto != Proto::Icmp && addr.port() != 0 && addr.port() < 1024 {
        rights.require(NetRights::BIND_PRIVILEGED, NetError::AccessDenied)?;
    }
    let port = env
        .ports
        .bind(proto, ip, addr.port(), id, opts.reuse_addr)?;
    Ok(SocketAddrV4::new(ip, port))
}
