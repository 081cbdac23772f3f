//! An established TCP connection (Linux SS_CONNECTED), until the endpoint is closed.
//!
//! Tracks what Linux keeps in `sk_shutdown` and `sk_err`: our shutdowns, the peer's FIN
//! (read returns 0, POLLIN|POLLRDHUP) and a reset (ECONNRESET once, then EOF and EPIPE).
//! smoltcp reports an RST only as a jump to CLOSED, so a close we did not see coming
//! through a FIN is a reset.

use core::net::SocketAddrV4;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{Socket, State as TcpState};

use smoltcp::time::Duration;

use crate::core::{EndpointId, Env};
use crate::error::{NetError, NetResult};
use crate::options::Options;
use crate::ports::Proto;
use crate::readiness::Readiness;

/// Linux's tcp_retries2 = 15 gives up on an unacknowledged segment after about 924 s.
const RETRANSMIT_GIVE_UP: Duration = Duration::from_secs(924);

pub(crate) struct Connected {
    pub handle: SocketHandle,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    shut_rd: bool,
    shut_wr: bool,
    fin_seen: bool,
    reset: bool,
    error: Option<NetError>,
    /// Whether connect() already reported success (a second call then says EISCONN).
    pub connect_reported: bool,
}

impl Connected {
    pub fn new(
        handle: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        connect_reported: bool,
    ) -> Connected {
        Connected {
            handle,
            local,
            remote,
            shut_rd: false,
            shut_wr: false,
            fin_seen: false,
            reset: false,
            error: None,
            connect_reported,
        }
    }

    pub fn observe(&mut self, env: &mut Env, opts: &Options) {
        let key = (self.local.port(), *self.remote.ip(), self.remote.port());
        let we_reset = env.link.tx.rst_sent.contains(&key);
        let sock = env.sockets.get_mut::<Socket>(self.handle);
        let state = sock.state();
        match state {
            TcpState::CloseWait | TcpState::LastAck | TcpState::Closing | TcpState::TimeWait => {
                self.fin_seen = true
            }
            TcpState::Closed if !self.fin_seen && !self.reset => {
                self.reset = true;
                // smoltcp forgets the connection tuple on a received RST; when it gave up
                // on the peer itself it keeps the tuple until its own RST is out (this
                // poll, or later if the peer's address no longer resolves).
                let gave_up = we_reset || sock.local_endpoint().is_some();
                self.error = Some(if gave_up {
                    NetError::TimedOut
                } else {
                    NetError::ConnReset
                });
            }
            _ => {}
        }
        // smoltcp's timeout also kills idle connections, which Linux never does; so it
        // is armed only while something waits for an ACK (Linux gives up after
        // tcp_retries2, about 15 minutes) or while keepalive probes the peer.
        let waiting = sock.send_queue() > 0
            || matches!(
                state,
                TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck
            );
        let want = if opts.keepalive {
            let give_up =
                u64::from(opts.keepidle) + u64::from(opts.keepintvl) * u64::from(opts.keepcnt);
            Some(Duration::from_secs(give_up))
        } else if waiting {
            Some(RETRANSMIT_GIVE_UP)
        } else {
            None
        };
        if sock.timeout() != want {
            sock.set_timeout(want);
        }
    }

    fn rcv_shutdown(&self) -> bool {
        self.shut_rd || self.fin_seen || self.reset
    }

    fn snd_shutdown(&self) -> bool {
        self.shut_wr || self.reset
    }

    pub fn take_error(&mut self) -> Option<NetError> {
        self.error.take()
    }

    /// recv(): buffered data first (even after FIN or RST), then a pending error once,
    /// then 0 at end of stream, else EAGAIN.
    pub fn recv(&mut self, env: &mut Env, buf: &mut [u8], peek: bool) -> NetResult<usize> {
        let sock = env.sockets.get_mut::<Socket>(self.handle);
        if sock.recv_queue() > 0 {
            if buf.is_empty() {
                return Ok(0);
            }
            let r = if peek {
                sock.peek_slice(buf)
            } else {
                sock.recv_slice(buf)
            };
            return r.map_err(|_| NetError::ConnReset);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.rcv_shutdown() || !sock.may_recv() {
            return Ok(0);
        }
        Err(NetError::WouldBlock)
    }

    /// send(): a pending error once, EPIPE after our shutdown or a reset, EAGAIN when the
    /// send buffer is full.
    pub fn send(&mut self, env: &mut Env, data: &[u8]) -> NetResult<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let sock = env.sockets.get_mut::<Socket>(self.handle);
        if self.snd_shutdown() || !sock.may_send() {
            return Err(NetError::BrokenPipe);
        }
        if data.is_empty() {
            return Ok(0);
        }
        match sock.send_slice(data) {
            Ok(0) => Err(NetError::WouldBlock),
            Ok(n) => Ok(n),
            Err(_) => Err(NetError::BrokenPipe),
        }
    }

    pub fn shutdown(&mut self, env: &mut Env, read: bool, write: bool) {
        if read {
            self.shut_rd = true;
        }
        if write && !self.shut_wr {
            self.shut_wr = true;
            env.sockets.get_mut::<Socket>(self.handle).close();
        }
    }

    /// Linux tcp_poll for an established (or winding down) connection.
    pub fn readiness(&self, env: &Env) -> Readiness {
        let sock = env.sockets.get::<Socket>(self.handle);
        let mut r = Readiness::empty();
        let closed = sock.state() == TcpState::Closed;
        if (self.rcv_shutdown() && self.snd_shutdown()) || closed {
            r |= Readiness::HUP;
        }
        if self.rcv_shutdown() {
            r |= Readiness::READABLE | Readiness::RDHUP;
        }
        if sock.recv_queue() > 0 {
            r |= Readiness::READABLE;
        }
        // Linux calls a stream writable while at most 2/3 of the send buffer is queued.
        let roomy = sock.send_queue() * 3 <= sock.send_capacity() * 2;
        if self.snd_shutdown() || (roomy && sock.may_send()) || closed {
            r |= Readiness::WRITABLE;
        }
        if self.error.is_some() {
            r |= Readiness::ERR;
        }
        r
    }

    /// close(): FIN as Linux does, or RST when unread data would be thrown away; the
    /// socket then winds down as an orphan that still holds the port.
    pub fn close(self, env: &mut Env, id: EndpointId) {
        let sock = env.sockets.get_mut::<Socket>(self.handle);
        if sock.recv_queue() > 0 {
            sock.abort();
        } else {
            sock.close();
        }
        env.orphan(self.handle, Some((Proto::Tcp, self.local.port(), id)));
    }

    /// Revocation: reset the connection.
    pub fn abort(self, env: &mut Env, id: EndpointId) {
        env.sockets.get_mut::<Socket>(self.handle).abort();
        env.orphan(self.handle, Some((Proto::Tcp, self.local.port(), id)));
    }
}
