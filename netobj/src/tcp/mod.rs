//! TCP endpoints: one type per state, as in Asterinas' `socket/ip/stream`.
//!
//! `Init` (fresh or bound), `Connecting` (SYN in flight or failed), `Connected`
//! and `Listening` each implement only what makes sense in that state; this module
//! only moves an endpoint between them and answers, for each operation, what Linux
//! answers in the states where it does not apply.
//!
//! Operations (all nonblocking; a blocking call is the kernel waiting for readiness and
//! calling again, exactly as Linux's own blocking paths loop):
//!
//! | operation | needs | errors (Linux errno) |
//! |---|---|---|
//! | `bind(addr)` | BIND_PRIVILEGED for port < 1024 | EINVAL bound, EADDRNOTAVAIL, EADDRINUSE, EACCES |
//! | `connect(addr)` | TCP_CONNECT | EINPROGRESS, EALREADY, EISCONN, ECONNREFUSED, ETIMEDOUT, ECONNABORTED, ENETUNREACH |
//! | `listen(backlog)` | TCP_LISTEN | EINVAL when connected, EADDRINUSE |
//! | `accept()` | | EAGAIN, EINVAL when not listening |
//! | `send(data)` | | EAGAIN, EPIPE, ECONNRESET |
//! | `recv(buf, peek)` | | EAGAIN, ENOTCONN, ECONNRESET; Ok(0) at EOF |
//! | `shutdown(how)` | | ENOTCONN |

mod connected;
mod connecting;
mod init;
mod isn;
mod listen;

use alloc::vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::task::Waker;

use smoltcp::socket::tcp::{Socket, SocketBuffer};
use smoltcp::time::{Duration, Instant};

use self::connected::Connected;
use self::connecting::{Connecting, Progress};
use self::init::Init;
use self::listen::Listening;
use crate::core::{EndpointId, Entry, Env, Handle, Kind};
use crate::error::{NetError, NetResult};
use crate::options::{Options, SockKind, SockOpt};
use crate::ports::Proto;
use crate::readiness::Readiness;
use crate::rights::NetRights;

pub(crate) use self::init::bind_checked;
pub use self::listen::SOMAXCONN;

/// Which halves `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// SHUT_RD.
    Read,
    /// SHUT_WR.
    Write,
    /// SHUT_RDWR.
    Both,
}

/// A new smoltcp socket sized by the options (Linux's doubled SO_RCVBUF/SO_SNDBUF once
/// set, else the stack's throughput-sized default) and configured by them.
pub(crate) fn new_socket(env: &Env, opts: &Options) -> Socket<'static> {
    let rx = opts
        .rcvbuf
        .map_or(env.cfg.tcp_buffer_size, |_| opts.rcvbuf_value() as usize);
    let tx = opts
        .sndbuf
        .map_or(env.cfg.tcp_buffer_size, |_| opts.sndbuf_value() as usize);
    let mut sock = Socket::new(
        SocketBuffer::new(vec![0; rx]),
        SocketBuffer::new(vec![0; tx]),
    );
    apply_options(&mut sock, opts);
    sock
}

pub(crate) fn apply_options(sock: &mut Socket<'static>, opts: &Options) {
    sock.set_nagle_enabled(!opts.nodelay);
    sock.set_hop_limit(Some(opts.ttl));
    if opts.keepalive {
        sock.set_keep_alive(Some(Duration::from_secs(u64::from(opts.keepidle))));
        let give_up =
            u64::from(opts.keepidle) + u64::from(opts.keepintvl) * u64::from(opts.keepcnt);
        sock.set_timeout(Some(Duration::from_secs(give_up)));
    } else {
        sock.set_keep_alive(None);
        sock.set_timeout(None);
    }
}

pub(crate) enum State {
    Init(Init),
    Connecting(Connecting),
    Connected(Connected),
    Listening(Listening),
}

pub(crate) struct TcpSock {
    opts: Options,
    rights: NetRights,
    state: State,
}

impl TcpSock {
    pub fn new(rights: NetRights) -> TcpSock {
        TcpSock {
            opts: Options::new(SockKind::Stream),
            rights,
            state: State::Init(Init { bound: None }),
        }
    }

    /// Move to Connected as soon as the handshake completed.
    fn advance(&mut self, env: &mut Env, id: EndpointId) {
        match &mut self.state {
            State::Connecting(c) => {
                if let Progress::Established(h) = c.observe(env, id) {
                    let State::Connecting(c) =
                        core::mem::replace(&mut self.state, State::Init(Init { bound: None }))
                    else {
                        return;
                    };
                    self.state = State::Connected(c.into_connected(h));
                }
            }
            State::Connected(c) => c.observe(env, &self.opts),
            _ => {}
        }
    }

    pub fn refresh(&mut self, env: &mut Env, id: EndpointId) -> Readiness {
        self.advance(env, id);
        match &self.state {
            // A fresh socket is closed: Linux reports POLLOUT|POLLHUP.
            State::Init(_) => Readiness::WRITABLE | Readiness::HUP,
            State::Connecting(c) => c.readiness(),
            State::Connected(c) => c.readiness(env),
            State::Listening(l) => l.readiness(env),
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Connecting(c) => c.deadline(),
            _ => None,
        }
    }

    pub fn refill(&mut self, env: &mut Env) {
        if let State::Listening(l) = &mut self.state {
            l.refill(env);
        }
    }

    pub fn close(self, env: &mut Env, id: EndpointId) {
        match self.state {
            State::Init(i) => {
                if let Some(b) = i.bound {
                    env.ports.release(Proto::Tcp, b.port(), id);
                }
            }
            State::Connecting(c) => {
                if let Init { bound: Some(b) } = c.abandon(env, id) {
                    env.ports.release(Proto::Tcp, b.port(), id);
                }
            }
            State::Connected(c) => c.close(env, id),
            State::Listening(l) => l.close(env, id),
        }
    }

    /// Revocation: like close, but connections are reset.
    pub fn kill(self, env: &mut Env, id: EndpointId) {
        match self.state {
            State::Connected(c) => c.abort(env, id),
            _ => self.close(env, id),
        }
    }

    fn bind(&mut self, env: &mut Env, id: EndpointId, addr: SocketAddrV4) -> NetResult<()> {
        match &mut self.state {
            State::Init(i) => i.bind(env, id, &self.opts, self.rights, addr),
            _ => Err(NetError::Invalid),
        }
    }

    fn connect(&mut self, env: &mut Env, id: EndpointId, remote: SocketAddrV4) -> NetResult<()> {
        self.advance(env, id);
        match &mut self.state {
            State::Init(i) => {
                let c = i.connect(env, id, &self.opts, self.rights, remote)?;
                self.state = State::Connecting(c);
                Err(NetError::InProgress)
            }
            State::Connecting(c) => match c.reconnect() {
                Ok(e) => Err(e),
                Err(init) => {
                    let e = c.take_failure();
                    self.state = State::Init(init);
                    Err(e)
                }
            },
            State::Connected(c) if !c.connect_reported => {
                c.connect_reported = true;
                Ok(())
            }
            State::Connected(_) | State::Listening(_) => Err(NetError::IsConnected),
        }
    }

    fn listen(&mut self, env: &mut Env, id: EndpointId, backlog: i32) -> NetResult<()> {
        match &mut self.state {
            State::Init(i) => {
                let l = i.listen(env, id, &self.opts, self.rights, backlog)?;
                self.state = State::Listening(l);
                Ok(())
            }
            State::Listening(l) => {
                l.set_backlog(env, backlog);
                Ok(())
            }
            _ => Err(NetError::Invalid),
        }
    }

    fn send(&mut self, env: &mut Env, id: EndpointId, data: &[u8]) -> NetResult<usize> {
        self.advance(env, id);
        match &mut self.state {
            State::Connected(c) => c.send(env, data),
            State::Connecting(c) => c.send(),
            State::Init(_) | State::Listening(_) => Err(NetError::BrokenPipe),
        }
    }

    fn recv(
        &mut self,
        env: &mut Env,
        id: EndpointId,
        buf: &mut [u8],
        peek: bool,
    ) -> NetResult<usize> {
        self.advance(env, id);
        match &mut self.state {
            State::Connected(c) => c.recv(env, buf, peek),
            State::Connecting(c) => c.recv(),
            State::Init(_) | State::Listening(_) => Err(NetError::NotConnected),
        }
    }

    fn shutdown(&mut self, env: &mut Env, id: EndpointId, how: Shutdown) -> NetResult<()> {
        self.advance(env, id);
        let read = how != Shutdown::Write;
        let write = how != Shutdown::Read;
        match core::mem::replace(&mut self.state, State::Init(Init { bound: None })) {
            State::Connected(mut c) => {
                c.shutdown(env, read, write);
                self.state = State::Connected(c);
                Ok(())
            }
            State::Connecting(c) => {
                self.state = State::Init(c.abandon(env, id));
                Ok(())
            }
            State::Listening(l) if read => {
                let local = l.local;
                l.stop(env);
                env.ports.unlisten(Proto::Tcp, local.port(), id);
                self.state = State::Init(Init { bound: Some(local) });
                Ok(())
            }
            s @ State::Listening(_) => {
                self.state = s;
                Ok(())
            }
            s @ State::Init(_) => {
                self.state = s;
                Err(NetError::NotConnected)
            }
        }
    }

    fn set_option(&mut self, env: &mut Env, opt: SockOpt, value: i32) -> NetResult<()> {
        self.opts.set(opt, value)?;
        match &mut self.state {
            State::Connected(c) => {
                apply_options(env.sockets.get_mut::<Socket>(c.handle), &self.opts)
            }
            State::Listening(l) => l.set_options(env, &self.opts),
            _ => {}
        }
        Ok(())
    }

    fn option(&mut self, env: &mut Env, id: EndpointId, opt: SockOpt) -> NetResult<i32> {
        self.advance(env, id);
        match opt {
            SockOpt::Error => {
                let e = match &mut self.state {
                    State::Connecting(c) => c.take_error(),
                    State::Connected(c) => c.take_error(),
                    _ => None,
                };
                Ok(e.map_or(0, |e| e.errno()))
            }
            SockOpt::AcceptConn => Ok(matches!(self.state, State::Listening(_)) as i32),
            _ => self.opts.get(opt),
        }
    }

    fn local_addr(&self) -> SocketAddrV4 {
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        match &self.state {
            State::Init(i) => i.bound.unwrap_or(any),
            State::Connecting(c) => c.local,
            State::Connected(c) => c.local,
            State::Listening(l) => l.local,
        }
    }

    pub fn row(&self, env: &Env) -> crate::info::Row {
        use crate::info::{linux_state, tcp_state, Row};
        match &self.state {
            State::Init(i) => Row {
                state: linux_state::CLOSE,
                local: i.bound.unwrap_or(crate::info::UNBOUND),
                remote: None,
                rx_queue: 0,
                tx_queue: 0,
            },
            State::Connecting(c) => Row {
                state: if c.deadline().is_some() {
                    linux_state::SYN_SENT
                } else {
                    linux_state::CLOSE
                },
                local: c.local,
                remote: Some(c.remote),
                rx_queue: 0,
                tx_queue: 0,
            },
            State::Connected(c) => {
                let s = env.sockets.get::<Socket>(c.handle);
                Row {
                    state: tcp_state(s.state()),
                    local: c.local,
                    remote: Some(c.remote),
                    rx_queue: s.recv_queue(),
                    tx_queue: s.send_queue(),
                }
            }
            State::Listening(l) => Row {
                state: linux_state::LISTEN,
                local: l.local,
                remote: None,
                rx_queue: l.waiting(env),
                tx_queue: l.capacity() - 1,
            },
        }
    }

    fn peer_addr(&self) -> NetResult<SocketAddrV4> {
        match &self.state {
            State::Connected(c) => Ok(c.remote),
            _ => Err(NetError::NotConnected),
        }
    }
}

/// A TCP endpoint (a Linux SOCK_STREAM socket). Dropping it is close().
pub struct TcpEndpoint {
    handle: Handle,
}

impl TcpEndpoint {
    pub(crate) fn new(handle: Handle) -> TcpEndpoint {
        TcpEndpoint { handle }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut TcpSock, &mut Env, EndpointId) -> NetResult<R>,
    ) -> NetResult<R> {
        self.handle.with(|env, kind, id| match kind {
            Kind::Tcp(t) => f(t, env, id),
            _ => Err(NetError::Invalid),
        })
    }

    /// bind(2).
    pub fn bind(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|t, env, id| t.bind(env, id, addr))
    }

    /// connect(2), nonblocking: EINPROGRESS first, then EALREADY until the handshake ends;
    /// Ok once established (EISCONN after that), or the failure.
    pub fn connect(&self, addr: SocketAddrV4) -> NetResult<()> {
        self.with(|t, env, id| t.connect(env, id, addr))
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> NetResult<()> {
        self.with(|t, env, id| t.listen(env, id, backlog))
    }

    /// accept(2), nonblocking: the new connection and the peer's address.
    pub fn accept(&self) -> NetResult<(TcpEndpoint, SocketAddrV4)> {
        let mut core = self.handle.core.lock();
        let crate::core::Core { endpoints, env } = &mut *core;
        let entry = endpoints
            .get_mut(&self.handle.id)
            .ok_or(NetError::NetDown)?;
        let Kind::Tcp(t) = &mut entry.kind else {
            return Err(if matches!(entry.kind, Kind::Dead) {
                NetError::NetDown
            } else {
                NetError::Invalid
            });
        };
        let State::Listening(l) = &mut t.state else {
            return Err(NetError::Invalid);
        };
        let new_id = env.alloc_id();
        let conn = l.accept(env, new_id).ok_or(NetError::WouldBlock)?;
        let peer = conn.remote;
        let mut kind = Kind::Tcp(TcpSock {
            opts: t.opts,
            rights: t.rights,
            state: State::Connected(conn),
        });
        entry.last = entry.kind.refresh(env, self.handle.id);
        let origin = entry.origin;
        let last = kind.refresh(env, new_id);
        endpoints.insert(
            new_id,
            Entry {
                origin,
                kind,
                waker: None,
                last,
            },
        );
        drop(core);
        let handle = Handle {
            core: self.handle.core.clone(),
            id: new_id,
        };
        Ok((TcpEndpoint::new(handle), peer))
    }

    /// send(2) (MSG_DONTWAIT semantics: EAGAIN when the send buffer is full).
    pub fn send(&self, data: &[u8]) -> NetResult<usize> {
        self.with(|t, env, id| t.send(env, id, data))
    }

    /// recv(2); `peek` is MSG_PEEK. Ok(0) is end of stream.
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> NetResult<usize> {
        self.with(|t, env, id| t.recv(env, id, buf, peek))
    }

    /// shutdown(2).
    pub fn shutdown(&self, how: Shutdown) -> NetResult<()> {
        self.with(|t, env, id| t.shutdown(env, id, how))
    }

    /// setsockopt(2).
    pub fn set_option(&self, opt: SockOpt, value: i32) -> NetResult<()> {
        self.with(|t, env, _| t.set_option(env, opt, value))
    }

    /// getsockopt(2); SO_ERROR reads and clears the pending error.
    pub fn option(&self, opt: SockOpt) -> NetResult<i32> {
        self.with(|t, env, id| t.option(env, id, opt))
    }

    /// getsockname(2): the local port is assigned as soon as connect starts.
    pub fn local_addr(&self) -> NetResult<SocketAddrV4> {
        self.with(|t, _, _| Ok(t.local_addr()))
    }

    /// getpeername(2).
    pub fn peer_addr(&self) -> NetResult<SocketAddrV4> {
        self.with(|t, _, _| t.peer_addr())
    }

    /// poll(2) bits.
    pub fn readiness(&self) -> Readiness {
        self.handle.readiness()
    }

    /// The waker woken when readiness gains a bit (None removes it).
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
