//! A read-only listing of a stack's sockets, for the kernel console (`net`, `socks`) and
//! the personality's /proc/net/{tcp,udp,icmp,raw}.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::socket::tcp::{Socket, State};

use crate::core::{Core, Env, Kind};
use crate::stack::EndpointKind;
use crate::udp::to_v4;

/// Linux's TCP state numbers as /proc/net/tcp prints them (TCP_ESTABLISHED = 1 ...).
pub mod linux_state {
    /// TCP_ESTABLISHED (also a connected UDP socket).
    pub const ESTABLISHED: u8 = 1;
    /// TCP_SYN_SENT.
    pub const SYN_SENT: u8 = 2;
    /// TCP_SYN_RECV.
    pub const SYN_RECV: u8 = 3;
    /// TCP_FIN_WAIT1.
    pub const FIN_WAIT1: u8 = 4;
    /// TCP_FIN_WAIT2.
    pub const FIN_WAIT2: u8 = 5;
    /// TCP_TIME_WAIT.
    pub const TIME_WAIT: u8 = 6;
    /// TCP_CLOSE (also an unconnected datagram socket).
    pub const CLOSE: u8 = 7;
    /// TCP_CLOSE_WAIT.
    pub const CLOSE_WAIT: u8 = 8;
    /// TCP_LAST_ACK.
    pub const LAST_ACK: u8 = 9;
    /// TCP_LISTEN.
    pub const LISTEN: u8 = 10;
    /// TCP_CLOSING.
    pub const CLOSING: u8 = 11;
}

/// One socket of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketInfo {
    /// Endpoint id (0 for a closed TCP connection still winding down).
    pub id: u64,
    /// The capability identity the endpoint was created through.
    pub origin: u64,
    /// The endpoint type (a revoked endpoint is not listed).
    pub kind: EndpointKind,
    /// Linux state number (see [`linux_state`]).
    pub state: u8,
    /// Local address (0.0.0.0:0 when unbound).
    pub local: SocketAddrV4,
    /// Peer, when connected.
    pub remote: Option<SocketAddrV4>,
    /// Bytes waiting to be read (listeners: connections waiting to be accepted).
    pub rx_queue: usize,
    /// Bytes waiting to be sent (listeners: the backlog).
    pub tx_queue: usize,
}

pub(crate) fn tcp_state(s: State) -> u8 {
    use linux_state::*;
    match s {
        State::Closed => CLOSE,
        State::Listen => LISTEN,
        State::SynSent => SYN_SENT,
        State::SynReceived => SYN_RECV,
        State::Established => ESTABLISHED,
        State::FinWait1 => FIN_WAIT1,
        State::FinWait2 => FIN_WAIT2,
        State::CloseWait => CLOSE_WAIT,
        State::Closing => CLOSING,
        State::LastAck => LAST_ACK,
        State::TimeWait => TIME_WAIT,
    }
}

/// What an endpoint type reports about itself.
pub(crate) struct Row {
    pub state: u8,
    pub local: SocketAddrV4,
    pub remote: Option<SocketAddrV4>,
    pub rx_queue: usize,
    pub tx_queue: usize,
}

pub(crate) const UNBOUND: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);

impl Core {
    pub fn socket_infos(&self) -> Vec<SocketInfo> {
        let env: &Env = &self.env;
        let mut out = Vec::new();
        for (&id, e) in &self.endpoints {
            let (kind, row) = match &e.kind {
                Kind::Tcp(t) => (EndpointKind::Tcp, t.row(env)),
                Kind::Udp(u) => (EndpointKind::Udp, u.row(env)),
                Kind::Icmp(i) => (EndpointKind::Icmp, i.row()),
                Kind::Raw(r) => (EndpointKind::Raw, r.row(env)),
                Kind::Packet(p) => (EndpointKind::Packet, p.row()),
                Kind::Dead => continue,
            };
            let Row {
                state,
                local,
                remote,
                rx_queue,
                tx_queue,
            } = row;
            out.push(SocketInfo {
                id,
                origin: e.origin,
                kind,
                state,
                local,
                remote,
                rx_queue,
                tx_queue,
            });
        }
        for o in &env.orphans {
            let s = env.sockets.get::<Socket>(o.handle);
            out.push(SocketInfo {
                id: 0,
                origin: 0,
                kind: EndpointKind::Tcp,
                state: tcp_state(s.state()),
                local: s.local_endpoint().map_or(UNBOUND, to_v4),
                remote: s.remote_endpoint().map(to_v4),
                rx_queue: s.recv_queue(),
                tx_queue: s.send_queue(),
            });
        }
        out
    }
}
