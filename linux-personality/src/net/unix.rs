//! AF_UNIX sockets: stream and datagram, in pairs (socketpair) or named by a path in the
//! file system (bind creates an S_IFSOCK node there, as Linux does) or by an abstract
//! name (a leading NUL byte).
//!
//! Every socket has one receive queue ([`Chan`]): bytes for a stream (message edges
//! ignored on read), whole datagrams with their sender's name for a datagram socket. A
//! connected socket sends into its peer's queue. Closing a stream end marks the peer's
//! queue as having lost its writer (read returns 0, POLLIN|POLLRDHUP|POLLHUP) and its own
//! as having lost its reader (the peer's writes fail with EPIPE).
//!
//! connect(path): ENOENT when no such file, ECONNREFUSED when the file is not a socket
//! with a listener (stream) or bound socket (datagram) behind it, EPROTOTYPE when the
//! types differ. A full listen backlog makes a blocking connect wait for an accept (a
//! nonblocking one answers EAGAIN), as on Linux. SCM_RIGHTS / SCM_CREDENTIALS are not implemented.

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use spin::Mutex;

use super::{Kind, Received, SockAddr, Socket, SOCK_DGRAM, SOCK_STREAM};
use crate::abi::Errno;
use crate::file::{poll, wake};
use crate::fs::Inode;

/// How much a receive queue holds (Linux's default SO_RCVBUF-ish figure).
const QUEUE_BYTES: usize = 212_992;
/// Datagrams a queue holds (Linux's net.unix.max_dgram_qlen).
const QUEUE_DGRAMS: usize = 512;

/// A receive queue.
pub struct Chan {
    msgs: VecDeque<(Vec<u8>, Vec<u8>)>,
    bytes: usize,
    /// The stream peer closed (or shut down writing): EOF after the data.
    writer_gone: bool,
    /// The owner closed (or shut down reading): writers get EPIPE.
    reader_gone: bool,
    /// The owner's wait key (woken when data arrives).
    key: u64,
    /// The writing peer's key (woken when room appears).
    writer_key: u64,
}

impl Chan {
    fn new(key: u64) -> Arc<Mutex<Chan>> {
        Arc::new(Mutex::new(Chan {
            msgs: VecDeque::new(),
            bytes: 0,
            writer_gone: false,
            reader_gone: false,
            key,
            writer_key: 0,
        }))
    }

    fn room(&self, stream: bool) -> usize {
        if !stream && self.msgs.len() >= QUEUE_DGRAMS {
            return 0;
        }
        QUEUE_BYTES.saturating_sub(self.bytes)
    }
}

enum Conn {
    Unconnected,
    /// Stream: the peer's receive queue. Datagram: the default destination.
    Connected {
        peer_rx: Arc<Mutex<Chan>>,
        peer_name: Vec<u8>,
        peer: Weak<Socket>,
    },
    Listening {
        backlog: usize,
        queue: VecDeque<Arc<Socket>>,
    },
}

struct State {
    name: Vec<u8>,
    conn: Conn,
    shut_rd: bool,
    shut_wr: bool,
    /// Where a named socket's file is, to unregister on close.
    node: Option<Weak<Inode>>,
}

/// An AF_UNIX socket.
pub struct UnixSock {
    pub ty: u32,
    /// (pid, uid, gid) of the process that made the socket (connect or listen time on
    /// Linux; the same process here), reported to the peer by SO_PEERCRED.
    pub cred: (u32, u32, u32),
    rx: Arc<Mutex<Chan>>,
    st: Mutex<State>,
}

/// Bound names: file-system nodes and abstract names, to the socket bound there.
enum Name {
    Node(Weak<Inode>),
    Abstract(Vec<u8>),
}

static BOUND: Mutex<Vec<(Name, Weak<Socket>)>> = Mutex::new(Vec::new());

fn find(node: Option<&Arc<Inode>>, abstract_name: &[u8]) -> Option<Arc<Socket>> {
    let mut b = BOUND.lock();
    b.retain(|(_, s)| s.strong_count() > 0);
    b.iter()
        .find(|(n, _)| match (n, node) {
            (Name::Node(w), Some(node)) => w.upgrade().is_some_and(|i| Arc::ptr_eq(&i, node)),
            (Name::Abstract(a), None) => a == abstract_name,
            _ => false,
        })
        .and_then(|(_, s)| s.upgrade())
}

/// The socket bound at `node` (or abstract `name`), if any.
pub fn bound_at(node: Option<&Arc<Inode>>, name: &[u8]) -> Option<Arc<Socket>> {
    find(node, name)
}

/// Whether `s` is a listener whose accept queue is full (a connect must wait).
pub fn backlog_full(s: &Socket) -> bool {
    unix_of(s).is_some_and(|u| match &u.st.lock().conn {
        Conn::Listening { backlog, queue } => queue.len() > *backlog,
        _ => false,
    })
}

fn unix_of(s: &Socket) -> Option<&UnixSock> {
    match &s.kind {
        Kind::Unix(u) => Some(u),
        _ => None,
    }
}

/// A new unconnected socket of type `ty` (SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET,
/// the last treated as a stream that keeps no edges — enough for its users here).
pub fn socket(ty: u32, cred: (u32, u32, u32)) -> Arc<Socket> {
    // The receive queue needs the socket's key, known only once registered.
    let s = Socket::unix(UnixSock {
        ty,
        rx: Chan::new(0),
        cred,
        st: Mutex::new(State {
            name: Vec::new(),
            conn: Conn::Unconnected,
            shut_rd: false,
            shut_wr: false,
            node: None,
        }),
    });
    if let Some(u) = unix_of(&s) {
        u.rx.lock().key = s.key;
    }
    s
}

/// socketpair(2): two connected sockets.
pub fn pair(ty: u32, cred: (u32, u32, u32)) -> (Arc<Socket>, Arc<Socket>) {
    let (a, b) = (socket(ty, cred), socket(ty, cred));
    link(&a, &b, Vec::new(), Vec::new());
    (a, b)
}

/// Connect `a` and `b` to each other (`a` sees `b` named `b_name`).
fn link(a: &Arc<Socket>, b: &Arc<Socket>, a_name: Vec<u8>, b_name: Vec<u8>) {
    let (Some(ua), Some(ub)) = (unix_of(a), unix_of(b)) else {
        return;
    };
    ua.rx.lock().writer_key = b.key;
    ub.rx.lock().writer_key = a.key;
    ua.st.lock().conn = Conn::Connected {
        peer_rx: ub.rx.clone(),
        peer_name: b_name,
        peer: Arc::downgrade(b),
    };
    ub.st.lock().conn = Conn::Connected {
        peer_rx: ua.rx.clone(),
        peer_name: a_name,
        peer: Arc::downgrade(a),
    };
}

impl UnixSock {
    fn stream(&self) -> bool {
        self.ty != SOCK_DGRAM
    }

    pub fn name(&self) -> Vec<u8> {
        self.st.lock().name.clone()
    }

    /// SO_PEERCRED: the connected peer's credentials.
    pub fn peer_cred(&self) -> Result<(u32, u32, u32), Errno> {
        match &self.st.lock().conn {
            Conn::Connected { peer, .. } => peer
                .upgrade()
                .and_then(|p| unix_of(&p).map(|u| u.cred))
                .ok_or(Errno::ENOTCONN),
            _ => Err(Errno::ENOTCONN),
        }
    }

    pub fn peer_name(&self) -> Result<Vec<u8>, Errno> {
        match &self.st.lock().conn {
            Conn::Connected { peer_name, .. } => Ok(peer_name.clone()),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// bind(2) to a file-system node the caller just created (`node`) or an abstract
    /// name.
    pub fn bind(
        &self,
        me: &Arc<Socket>,
        name: Vec<u8>,
        node: Option<Arc<Inode>>,
    ) -> Result<(), Errno> {
        let mut st = self.st.lock();
        if !st.name.is_empty() {
            return Err(Errno::EINVAL);
        }
        if node.is_none() && find(None, &name).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        let key = match &node {
            Some(n) => Name::Node(Arc::downgrade(n)),
            None => Name::Abstract(name.clone()),
        };
        st.node = node.as_ref().map(Arc::downgrade);
        st.name = name;
        BOUND.lock().push((key, Arc::downgrade(me)));
        Ok(())
    }

    pub fn is_bound(&self) -> bool {
        !self.st.lock().name.is_empty()
    }

    pub fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !self.stream() {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st.lock();
        if st.name.is_empty() {
            return Err(Errno::EINVAL);
        }
        let backlog = backlog.clamp(0, 4096) as usize;
        match &mut st.conn {
            Conn::Listening { backlog: b, .. } => *b = backlog,
            Conn::Unconnected => {
                st.conn = Conn::Listening {
                    backlog,
                    queue: VecDeque::new(),
                }
            }
            Conn::Connected { .. } => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// connect(2) to the socket bound at `node` (or abstract `name`).
    pub fn connect(
        &self,
        me: &Arc<Socket>,
        node: Option<&Arc<Inode>>,
        name: &[u8],
    ) -> Result<(), Errno> {
        let target = find(node, name).ok_or(Errno::ECONNREFUSED)?;
        let tu = unix_of(&target).ok_or(Errno::ECONNREFUSED)?;
        if tu.stream() != self.stream() {
            return Err(Errno::EPROTOTYPE);
        }
        if !self.stream() {
            self.st.lock().conn = Conn::Connected {
                peer_rx: tu.rx.clone(),
                peer_name: name.to_vec(),
                peer: Arc::downgrade(&target),
            };
            return Ok(());
        }
        match &self.st.lock().conn {
            Conn::Connected { .. } => return Err(Errno::EISCONN),
            Conn::Listening { .. } => return Err(Errno::EINVAL),
            Conn::Unconnected => {}
        }
        let mut tst = tu.st.lock();
        let Conn::Listening { backlog, queue } = &mut tst.conn else {
            return Err(Errno::ECONNREFUSED);
        };
        // Linux's accept queue holds backlog + 1 connections.
        if queue.len() > *backlog {
            return Err(Errno::EAGAIN);
        }
        // The server's end speaks for the listener's owner.
        let server = socket(self.ty, tu.cred);
        if let Some(su) = unix_of(&server) {
            su.st.lock().name = name.to_vec();
        }
        let my_name = self.st.lock().name.clone();
        link(me, &server, my_name, name.to_vec());
        queue.push_back(server);
        drop(tst);
        wake(target.key);
        Ok(())
    }

    /// accept(2) without blocking; wakes connectors waiting for room in the queue.
    pub fn accept(&self) -> Result<Arc<Socket>, Errno> {
        let mut st = self.st.lock();
        let r = match &mut st.conn {
            Conn::Listening { queue, .. } => queue.pop_front().ok_or(Errno::EAGAIN),
            _ => Err(Errno::EINVAL),
        };
        drop(st);
        if r.is_ok() {
            wake(self.rx.lock().key);
        }
        r
    }

    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<Received, Errno> {
        let (shut_rd, connected) = {
            let st = self.st.lock();
            (st.shut_rd, matches!(st.conn, Conn::Connected { .. }))
        };
        let mut rx = self.rx.lock();
        if rx.msgs.is_empty() {
            if shut_rd || rx.writer_gone {
                return Ok(Received {
                    copied: 0,
                    len: 0,
                    from: None,
                });
            }
            if self.stream() && !connected {
                return Err(Errno::EINVAL);
            }
            return Err(Errno::EAGAIN);
        }
        if !self.stream() {
            let (data, from) = if peek {
                rx.msgs.front().cloned().unwrap_or_default()
            } else {
                let m = rx.msgs.pop_front().unwrap_or_default();
                rx.bytes -= m.0.len();
                m
            };
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            let wk = rx.writer_key;
            drop(rx);
            if !peek {
                wake(wk);
            }
            return Ok(Received {
                copied: n,
                len: data.len(),
                // An unnamed sender has no address at all (msg_namelen 0).
                from: (!from.is_empty()).then_some(SockAddr::Unix(from)),
            });
        }
        let mut n = 0;
        let mut i = 0;
        while n < buf.len() && i < rx.msgs.len() {
            let m = &rx.msgs[i].0;
            let k = m.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&m[..k]);
            n += k;
            i += 1;
        }
        if !peek {
            let mut left = n;
            while left > 0 {
                let Some(front) = rx.msgs.front_mut() else {
                    break;
                };
                if front.0.len() <= left {
                    left -= front.0.len();
                    rx.msgs.pop_front();
                } else {
                    front.0.drain(..left);
                    left = 0;
                }
            }
            rx.bytes -= n;
        }
        let wk = rx.writer_key;
        drop(rx);
        if !peek {
            wake(wk);
        }
        Ok(Received {
            copied: n,
            len: n,
            from: None,
        })
    }

    pub fn send(&self, data: &[u8], dest: Option<SockAddr>) -> Result<usize, Errno> {
        let st = self.st.lock();
        if st.shut_wr {
            return Err(Errno::EPIPE);
        }
        let my_name = st.name.clone();
        let chan = match (&st.conn, dest) {
            (_, Some(SockAddr::Unix(_))) if self.stream() => {
                return Err(if matches!(st.conn, Conn::Connected { .. }) {
                    Errno::EISCONN
                } else {
                    Errno::EOPNOTSUPP
                })
            }
            (_, Some(SockAddr::Unix(_))) => {
                // Resolved by the caller (it has the file system): see send_to_node.
                return Err(Errno::EINVAL);
            }
            (_, Some(_)) => return Err(Errno::EINVAL),
            (Conn::Connected { peer_rx, peer, .. }, None) => {
                if !self.stream() && peer.strong_count() == 0 {
                    return Err(Errno::ECONNREFUSED);
                }
                peer_rx.clone()
            }
            (_, None) if self.stream() => return Err(Errno::ENOTCONN),
            (_, None) => return Err(Errno::EDESTADDRREQ),
        };
        drop(st);
        push(&chan, data, my_name, self.stream())
    }

    /// sendto(2) on a datagram socket to the socket bound at `node` / abstract `name`.
    pub fn send_to(
        &self,
        data: &[u8],
        node: Option<&Arc<Inode>>,
        name: &[u8],
    ) -> Result<usize, Errno> {
        if self.stream() {
            return self.send(data, Some(SockAddr::Unix(name.to_vec())));
        }
        let target = find(node, name).ok_or(Errno::ECONNREFUSED)?;
        let tu = unix_of(&target).ok_or(Errno::ECONNREFUSED)?;
        if tu.stream() {
            return Err(Errno::EPROTOTYPE);
        }
        let my_name = self.st.lock().name.clone();
        push(&tu.rx, data, my_name, false)
    }

    pub fn shutdown(&self, how: u32) -> Result<(), Errno> {
        let mut st = self.st.lock();
        let rd = how != 1;
        let wr = how != 0;
        st.shut_rd |= rd;
        st.shut_wr |= wr;
        if let Conn::Connected { peer_rx, peer, .. } = &st.conn {
            if wr && self.stream() {
                peer_rx.lock().writer_gone = true;
                if let Some(p) = peer.upgrade() {
                    wake(p.key);
                }
            }
            Ok(())
        } else if self.stream() {
            Err(Errno::ENOTCONN)
        } else {
            Ok(())
        }
    }

    pub fn poll(&self) -> u16 {
        use poll::*;
        let st = self.st.lock();
        let rx = self.rx.lock();
        let mut ev = 0;
        if !rx.msgs.is_empty() {
            ev |= POLLIN | 0x40;
        }
        match &st.conn {
            Conn::Listening { queue, .. } => {
                if !queue.is_empty() {
                    ev |= POLLIN | 0x40;
                }
                return ev;
            }
            Conn::Connected { peer_rx, .. } => {
                let p = peer_rx.lock();
                if self.stream() && (rx.writer_gone || st.shut_rd) {
                    ev |= POLLIN | 0x40 | POLLRDHUP;
                }
                if self.stream() && rx.writer_gone && (p.reader_gone || st.shut_wr) {
                    ev |= POLLHUP;
                }
                if (p.reader_gone && self.stream()) || p.room(self.stream()) > 0 || st.shut_wr {
                    ev |= POLLOUT | 0x100;
                }
            }
            Conn::Unconnected => {
                if self.stream() {
                    ev |= POLLHUP;
                }
                ev |= POLLOUT | 0x100;
            }
        }
        ev
    }

    pub fn stream_type(&self) -> u32 {
        if self.ty == SOCK_DGRAM {
            SOCK_DGRAM
        } else {
            self.ty.max(SOCK_STREAM)
        }
    }

    /// Bytes waiting (FIONREAD / SIOCINQ): all for a stream, the next datagram's size.
    pub fn pending(&self) -> usize {
        let rx = self.rx.lock();
        if self.stream() {
            rx.bytes
        } else {
            rx.msgs.front().map_or(0, |m| m.0.len())
        }
    }
}

fn push(chan: &Arc<Mutex<Chan>>, data: &[u8], from: Vec<u8>, stream: bool) -> Result<usize, Errno> {
    let mut c = chan.lock();
    if c.reader_gone {
        return Err(if stream {
            Errno::EPIPE
        } else {
            Errno::ECONNREFUSED
        });
    }
    let room = c.room(stream);
    if !stream && data.len() > QUEUE_BYTES {
        return Err(Errno::EMSGSIZE);
    }
    if room == 0 || (!stream && room < data.len()) {
        return Err(Errno::EAGAIN);
    }
    let n = data.len().min(room);
    if n == 0 && stream {
        return Ok(0);
    }
    c.msgs.push_back((data[..n].to_vec(), from));
    c.bytes += n;
    let key = c.key;
    drop(c);
    wake(key);
    Ok(n)
}

impl Drop for UnixSock {
    fn drop(&mut self) {
        let st = self.st.get_mut();
        {
            let mut rx = self.rx.lock();
            rx.reader_gone = true;
            rx.msgs.clear();
            rx.bytes = 0;
            if rx.writer_key != 0 {
                wake(rx.writer_key);
            }
        }
        if let Conn::Connected { peer_rx, peer, .. } = &st.conn {
            if self.ty != SOCK_DGRAM {
                peer_rx.lock().writer_gone = true;
                if let Some(p) = peer.upgrade() {
                    wake(p.key);
                }
            }
        }
        if let Conn::Listening { queue, .. } = &mut st.conn {
            // Unaccepted connections are closed: their clients see EOF / ECONNRESET.
            queue.clear();
        }
    }
}
