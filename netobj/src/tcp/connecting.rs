//! A TCP endpoint whose SYN is in flight (Linux SS_CONNECTING).
//!
//! It becomes `Connected` as soon as smoltcp reports the handshake done (so a program
//! that never calls connect again can still send). If the peer refuses (RST), its address
//! never resolves (three unanswered ARP probes) or it never answers before the connect
//! deadline, the endpoint keeps the failure: SO_ERROR and the next operation report it
//! once (ECONNREFUSED / EHOSTUNREACH / ETIMEDOUT), and the next connect returns
//! it (or ECONNABORTED if already reported) and goes back to `Init`.

use core::net::SocketAddrV4;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{Socket, State as TcpState};
use smoltcp::time::Instant;

use super::connected::Connected;
use super::init::Init;
use crate::core::{EndpointId, Env};
use crate::error::{NetError, NetResult};
use crate::ports::Proto;
use crate::readiness::Readiness;

pub(crate) struct Connecting {
    /// None once the attempt failed (the smoltcp socket is then gone).
    handle: Option<SocketHandle>,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// The explicit bind to return to on failure (None: the port was picked by connect).
    explicit: Option<SocketAddrV4>,
    deadline: Instant,
    /// Pending SO_ERROR.
    error: Option<NetError>,
    failed: bool,
}

/// What `observe` found.
pub(crate) enum Progress {
    Pending,
    Established(SocketHandle),
}

impl Connecting {
    pub fn new(
        handle: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        explicit: Option<SocketAddrV4>,
        deadline: Instant,
    ) -> Connecting {
        Connecting {
            handle: Some(handle),
            local,
            remote,
            explicit,
            deadline,
            error: None,
            failed: false,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.handle.map(|_| self.deadline)
    }

    /// Look at the handshake; on failure release the socket (and a picked port).
    pub fn observe(&mut self, env: &mut Env, id: EndpointId) -> Progress {
        let Some(handle) = self.handle else {
            return Progress::Pending;
        };
        let dead_hop = env
            .next_hop(*self.remote.ip())
            .is_some_and(|hop| env.link.tx.arp.unreachable(hop, env.now));
        let key = (self.local.port(), *self.remote.ip(), self.remote.port());
        let icmp = env
            .tcp_errors
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, e)| e);
        let sock = env.sockets.get_mut::<Socket>(handle);
        let failure = match sock.state() {
            TcpState::SynSent | TcpState::SynReceived if env.now >= self.deadline => {
                Some(NetError::TimedOut)
            }
            // Linux: the neighbour failed, the queued SYN is dropped with EHOSTUNREACH.
            TcpState::SynSent if dead_hop => Some(NetError::HostUnreach),
            // A router's hard ICMP error ends a connect (EHOSTUNREACH, ENETUNREACH...).
            TcpState::SynSent if icmp.is_some_and(|e| e != NetError::MsgSize) => icmp,
            TcpState::SynSent | TcpState::SynReceived => None,
            TcpState::Closed | TcpState::Listen => Some(NetError::ConnRefused),
            _ => return Progress::Established(handle),
        };
        if let Some(e) = failure {
            env.sockets.remove(handle);
            self.handle = None;
            self.failed = true;
            self.error = Some(e);
            if self.explicit.is_none() {
                env.ports.release(Proto::Tcp, self.local.port(), id);
            }
        }
        Progress::Pending
    }

    /// A further connect(): EALREADY while in flight; the failure (once) then back to Init.
    pub fn reconnect(&mut self) -> Result<NetError, Init> {
        if !self.failed {
            return Ok(NetError::Already);
        }
        Err(Init {
            bound: self.explicit,
        })
    }

    /// The error a failed connect() reports: the pending one, or ECONNABORTED.
    pub fn take_failure(&mut self) -> NetError {
        self.error.take().unwrap_or(NetError::ConnAborted)
    }

    pub fn take_error(&mut self) -> Option<NetError> {
        self.error.take()
    }

    /// send() while connecting: EAGAIN, or the failure (once) then EPIPE.
    pub fn send(&mut self) -> NetResult<usize> {
        match (self.failed, self.error.take()) {
            (_, Some(e)) => Err(e),
            (true, None) => Err(NetError::BrokenPipe),
            (false, None) => Err(NetError::WouldBlock),
        }
    }

    /// recv() while connecting: EAGAIN, or the failure (once) then EOF.
    pub fn recv(&mut self) -> NetResult<usize> {
        match (self.failed, self.error.take()) {
            (_, Some(e)) => Err(e),
            (true, None) => Ok(0),
            (false, None) => Err(NetError::WouldBlock),
        }
    }

    /// Linux tcp_poll: nothing while the SYN is out; after a failure the socket is closed
    /// in both directions (IN|OUT|HUP|RDHUP) with ERR while the error is pending.
    pub fn readiness(&self) -> Readiness {
        if !self.failed {
            return Readiness::empty();
        }
        let mut r = Readiness::READABLE | Readiness::WRITABLE | Readiness::HUP | Readiness::RDHUP;
        if self.error.is_some() {
            r |= Readiness::ERR;
        }
        r
    }

    pub fn into_connected(self, handle: SocketHandle) -> Connected {
        Connected::new(handle, self.local, self.remote, false)
    }

    /// Abandon the attempt (close or shutdown during SYN_SENT): no RST, like Linux.
    pub fn abandon(self, env: &mut Env, id: EndpointId) -> Init {
        if let Some(h) = self.handle {
            env.sockets.remove(h);
            if self.explicit.is_none() {
                env.ports.release(Proto::Tcp, self.local.port(), id);
            }
        }
        Init {
            bound: self.explicit,
        }
    }
}
