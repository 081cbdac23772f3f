//! The socket system calls: socket, socketpair, bind, listen, accept(4), connect,
//! getsockname, getpeername, sendto, recvfrom, sendmsg, recvmsg, shutdown,
//! setsockopt, getsockopt. Each finds the caller's [`Socket`] behind the descriptor
//! (ENOTSOCK for any other file), and Internet sockets are made through the NetStack
//! capability in the caller's authority CNode (see [`crate::net`] for the fd/endpoint
//! relation and the blocking scheme).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use caps::{Error as CapError, Rights};
use netobj::capobj::{errno_for_missing, label, NetStackObject};
use netobj::{Caller, NetError, NetRights, NetStack, Shutdown, SockOpt};

use super::{Kernel, SysResult};
use crate::abi::Errno;
use crate::fd::{CapFail, AUTH_NETSTACK};
use crate::file::{flags, poll, OpenFile};
use crate::net::{
    self, unix, wanted, Endpoint, Inet, Kind, Received, SockAddr, Socket, AF_INET, AF_INET6,
    AF_NETLINK, AF_PACKET, AF_UNIX, IPPROTO_ICMP, IPPROTO_IP, IPPROTO_RAW, IPPROTO_TCP,
    IPPROTO_UDP, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM,
};
use crate::uaccess::{read_iovecs, UserSlice};

const MSG_OOB: u64 = 0x1;
const MSG_PEEK: u64 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;

const SOL_SOCKET: i32 = 1;
const SOL_IP: i32 = 0;
const SO_RCVTIMEO: i32 = 20;
const SO_SNDTIMEO: i32 = 21;
const SO_BINDTODEVICE: i32 = 25;
const SO_DOMAIN: i32 = 39;
const SO_PROTOCOL: i32 = 38;
const SO_LINGER: i32 = 13;
const SO_PASSCRED: i32 = 16;
const SO_PEERCRED: i32 = 17;
const IP_RECVTTL: i32 = 12;
const SOL_NETLINK: i32 = 270;

/// Sockets that have SO_RCVTIMEO or SO_SNDTIMEO set (ever): while there are none,
/// read(2) and write(2) skip the socket check entirely.
static TIMED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// read(2) / write(2) on a socket with SO_RCVTIMEO / SO_SNDTIMEO: served as recv / send
/// so the timeout holds (the generic fd path waits without one). None for every other
/// descriptor, which the generic path serves.
pub fn timed_rw<K: Kernel>(
    k: &mut K,
    fd: u64,
    buf: u64,
    len: u64,
    write: bool,
) -> Option<SysResult> {
    if TIMED.load(core::sync::atomic::Ordering::Relaxed) == 0 {
        return None;
    }
    let need = if write { Rights::WRITE } else { Rights::READ };
    let f = k
        .with_caps(|sys, t| t.get(sys, fd as i32 as i64, need))
        .ok()?;
    let s = Socket::of(&f.ops)?;
    let timed = {
        let o = s.opts.lock();
        if write {
            o.sndtimeo.is_some()
        } else {
            o.rcvtimeo.is_some()
        }
    };
    if !timed {
        return None;
    }
    Some(if write {
        sendto(k, fd, buf, len, 0, 0, 0)
    } else {
        recvfrom(k, fd, buf, len, 0, 0, 0)
    })
}

/// Largest sockaddr a caller may pass (Linux's sizeof(struct sockaddr_storage)).
const MAX_ADDR: u64 = 128;
/// Largest transfer one call moves through a kernel buffer.
const CHUNK: usize = 256 * 1024;

/// The socket behind `fd`: (open file, socket); EBADF / ENOTSOCK.
fn sock_of<K: Kernel>(k: &mut K, fd: u64) -> Result<(Arc<OpenFile>, Arc<Socket>), Errno> {
    let f = k.with_caps(|sys, t| t.get(sys, fd as i32 as i64, Rights::empty()))?;
    let s = Socket::of(&f.ops).ok_or(Errno::ENOTSOCK)?;
    Ok((f, s))
}

/// The caller's NetStack capability: the stack, and the Caller (rights, badge) that
/// endpoints made through it carry.
fn netstack<K: Kernel>(k: &mut K) -> Result<(NetStack, Caller), Errno> {
    k.with_caps(|sys, t| {
        let slot = t.authority_slot(sys, AUTH_NETSTACK)?;
        let cap = sys
            .cap_at(slot)
            .ok_or(Errno::from_code(errno_for_missing(!0)).unwrap_or(Errno::EPERM))?;
        let obj = sys
            .object::<NetStackObject>(&cap)
            .ok_or(Errno::EAFNOSUPPORT)?;
        Ok((
            obj.stack().clone(),
            Caller {
                rights: NetRights::from_bits_truncate(cap.rights.bits()),
                origin: cap.badge,
            },
        ))
    })
}

/// An interface ioctl made on a socket without a stack of its own, answered through
/// the caller's NetStack capability.
pub fn interface_ioctl<K: Kernel>(k: &mut K, cmd: u32, arg: u64) -> SysResult {
    let (stack, caller) = netstack(k)?;
    crate::net::ifconf::iface_ioctl(&stack, caller.rights, cmd, arg, k.mem()).map(|r| r as u64)
}

/// The caller's (pid, euid, egid), as SO_PEERCRED reports a peer.
fn cred<K: Kernel>(k: &mut K) -> (u32, u32, u32) {
    let ids = k.ids();
    (k.pid(), ids.euid, ids.egid)
}

fn install<K: Kernel>(k: &mut K, s: Arc<Socket>, fl: u32) -> Result<u32, Errno> {
    install_made_by(k, s, fl, None)
}

fn install_made_by<K: Kernel>(
    k: &mut K,
    s: Arc<Socket>,
    fl: u32,
    maker: Option<i64>,
) -> Result<u32, Errno> {
    let status = flags::O_RDWR | (fl & SOCK_NONBLOCK);
    let f = OpenFile::new(s, status);
    k.with_caps(|sys, t| {
        t.install_made_by(
            sys,
            f,
            OpenFile::rights_for(flags::O_RDWR),
            fl & SOCK_CLOEXEC != 0,
            maker,
        )
    })
}

fn read_addr<K: Kernel>(k: &mut K, addr: u64, len: u64) -> Result<SockAddr, Errno> {
    if len > MAX_ADDR || (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; len as usize];
    k.mem().read(addr, &mut raw)?;
    SockAddr::parse(&raw)
}

/// Writes `sa` to a user (addr, *addrlen) pair as Linux does: truncated to the
/// caller's length, the full length stored back.
fn write_addr<K: Kernel>(k: &mut K, addr: u64, lenp: u64, sa: &SockAddr) -> Result<(), Errno> {
    if addr == 0 || lenp == 0 {
        return Ok(());
    }
    let mut l = [0u8; 4];
    k.mem().read(lenp, &mut l)?;
    let have = i32::from_le_bytes(l);
    if have < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = sa.encode();
    let n = bytes.len().min(have as usize);
    k.mem().write(addr, &bytes[..n])?;
    k.mem().write(lenp, &(bytes.len() as u32).to_le_bytes())?;
    Ok(())
}

/// Waits until `s` shows `want` (or an error/hangup), honouring O_NONBLOCK /
/// MSG_DONTWAIT (EAGAIN at once) and a timeout (EAGAIN when it passes, as Linux's
/// SO_RCVTIMEO/SO_SNDTIMEO do).
fn block<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    s: &Arc<Socket>,
    want: u16,
    dontwait: bool,
    timeout: Option<u64>,
) -> Result<(), Errno> {
    if dontwait || f.nonblocking() {
        return Err(Errno::EAGAIN);
    }
    k.net_kick();
    let want = wanted(want);
    let s2 = s.clone();
    let mut ready = move || s2.events() & want != 0;
    match timeout {
        None => k.wait(s.key, &mut ready),
        Some(t) => {
            let deadline = k.now_ns().saturating_add(t);
            if k.wait_any(&[s.key], Some(deadline), &mut ready)? {
                Ok(())
            } else {
                Err(Errno::EAGAIN)
            }
        }
    }
}

/// An Internet or packet socket is an endpoint the caller's NetStack capability
/// makes: the Create invocation (`label`) puts it, wrapped as an open file
/// (`net::socket_object`), into the lowest free descriptor as a made CDT child of the
/// NetStack capability. A missing right fails in decode with the errno Linux gives.
fn make_endpoint<K: Kernel>(k: &mut K, label: u64, protocol: u32, fl: u32) -> Result<u32, Errno> {
    let cloexec = fl & SOCK_CLOEXEC != 0;
    let r = k.with_caps(|sys, t| {
        let fd = t.make(sys, AUTH_NETSTACK, label, u64::from(protocol), cloexec)?;
        if fl & SOCK_NONBLOCK != 0 {
            if let Ok(f) = t.get(sys, i64::from(fd), Rights::empty()) {
                f.set_status(f.status() | flags::O_NONBLOCK);
            }
        }
        Ok(fd)
    });
    r.map_err(|e| match e {
        CapFail::Errno(e) => e,
        CapFail::Cap(CapError::InsufficientRights { missing }) => {
            Errno::from_code(errno_for_missing(missing)).unwrap_or(Errno::EPERM)
        }
        // No NetStack capability at all (never granted, or revoked): as a missing right.
        CapFail::Cap(CapError::FailedLookup { source: false, .. }) => Errno::EPERM,
        // Not a NetStack object: an address family the caller's authority lacks.
        CapFail::Cap(CapError::IllegalOperation) => Errno::EAFNOSUPPORT,
        CapFail::Cap(CapError::NotEnoughMemory { .. }) => Errno::ENOBUFS,
        CapFail::Cap(_) => Errno::EMFILE,
    })
}

pub fn socket<K: Kernel>(k: &mut K, domain: u64, ty: u64, protocol: u64) -> SysResult {
    let fl = ty as u32 & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    let base = ty as u32 & !(SOCK_NONBLOCK | SOCK_CLOEXEC);
    let protocol = protocol as u32;
    let s = match domain as u16 {
        AF_UNIX => {
            if !matches!(base, SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET) {
                return Err(Errno::ESOCKTNOSUPPORT);
            }
            if protocol != 0 {
                return Err(Errno::EPROTONOSUPPORT);
            }
            unix::socket(base, cred(k))
        }
        AF_INET => {
            let label = match (base, protocol) {
                (SOCK_STREAM, IPPROTO_IP | IPPROTO_TCP) => label::CREATE_TCP,
                (SOCK_DGRAM, IPPROTO_IP | IPPROTO_UDP) => label::CREATE_UDP,
                (SOCK_DGRAM, IPPROTO_ICMP) => label::CREATE_ICMP,
                (SOCK_RAW, IPPROTO_ICMP) => label::CREATE_RAW,
                // IPPROTO_RAW: udhcpc's socket for interface ioctls. It needs RAW like
                // Linux's CAP_NET_RAW; sending raw IP through it is not implemented
                // (EOPNOTSUPP) and it never receives. The endpoint behind it is a raw
                // ICMP one the socket layer keeps silent.
                (SOCK_RAW, IPPROTO_RAW) => label::CREATE_RAW,
                (SOCK_RAW, _) => {
                    let (_, caller) = netstack(k)?;
                    if !caller.rights.contains(NetRights::RAW) {
                        return Err(Errno::EPERM);
                    }
                    return Err(Errno::EPROTONOSUPPORT);
                }
                (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
                _ => return Err(Errno::ESOCKTNOSUPPORT),
            };
            return make_endpoint(k, label, protocol, fl).map(u64::from);
        }
        AF_PACKET => {
            let (_, caller) = netstack(k)?;
            if !caller.rights.contains(NetRights::PACKET) {
                return Err(Errno::EPERM);
            }
            // SOCK_DGRAM only: the stack hands over IPv4 packets without their
            // Ethernet header.
            if base != SOCK_DGRAM {
                return Err(Errno::ESOCKTNOSUPPORT);
            }
            if (protocol as u16).swap_bytes() != netobj::ETH_P_IP {
                return Err(Errno::EPROTONOSUPPORT);
            }
            let proto = u64::from(netobj::ETH_P_IP);
            return make_endpoint(k, label::CREATE_PACKET, proto as u32, fl).map(u64::from);
        }
        AF_INET6 => return Err(Errno::EAFNOSUPPORT),
        AF_NETLINK => {
            if base != SOCK_RAW && base != SOCK_DGRAM {
                return Err(Errno::ESOCKTNOSUPPORT);
            }
            if protocol != 0 {
                // Only NETLINK_ROUTE.
                return Err(Errno::EPROTONOSUPPORT);
            }
            let (stack, caller) = netstack(k)?;
            let pid = k.pid();
            Socket::netlink(net::netlink::NetlinkSock::new(stack, caller.rights, pid))
        }
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    install(k, s, fl).map(u64::from)
}

pub fn socketpair<K: Kernel>(k: &mut K, domain: u64, ty: u64, protocol: u64, sv: u64) -> SysResult {
    let fl = ty as u32 & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    let base = ty as u32 & !(SOCK_NONBLOCK | SOCK_CLOEXEC);
    match domain as u16 {
        AF_UNIX => {}
        AF_INET => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    if !matches!(base, SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET) {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if protocol != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let (a, b) = unix::pair(base, cred(k));
    let fa = install(k, a, fl)?;
    let fb = match install(k, b, fl) {
        Ok(f) => f,
        Err(e) => {
            k.with_caps(|sys, t| t.close(sys, i64::from(fa)))?;
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(fa as i32).to_le_bytes());
    out[4..].copy_from_slice(&(fb as i32).to_le_bytes());
    if let Err(e) = k.mem().write(sv, &out) {
        k.with_caps(|sys, t| {
            let _ = t.close(sys, i64::from(fa));
            let _ = t.close(sys, i64::from(fb));
        });
        return Err(e);
    }
    Ok(0)
}

/// Resolve an AF_UNIX path for connect/sendto: the node (ENOENT etc.), which must be a
/// socket (ECONNREFUSED otherwise). Abstract names have no node.
fn unix_target<K: Kernel>(k: &mut K, name: &[u8]) -> Result<Option<Arc<crate::fs::Inode>>, Errno> {
    if name.is_empty() {
        return Err(Errno::EINVAL);
    }
    if name[0] == 0 {
        return Ok(None);
    }
    let creds = k.creds();
    let fs = k.fs();
    let node = crate::fs::namei::Walker::new(fs, &creds).resolve(&fs.cwd.clone(), name, true)?;
    if node.kind != crate::fs::NodeKind::Socket {
        return Err(Errno::ECONNREFUSED);
    }
    Ok(Some(node))
}

pub fn bind<K: Kernel>(k: &mut K, fd: u64, addr: u64, len: u64) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let sa = read_addr(k, addr, len)?;
    match &s.kind {
        Kind::Inet(i) => {
            if let Endpoint::Packet(_) = i.ep {
                return match sa {
                    SockAddr::Packet(l) if l.ifindex == 0 || l.ifindex == 2 => Ok(0),
                    SockAddr::Packet(_) => Err(Errno::ENODEV),
                    _ => Err(Errno::EINVAL),
                };
            }
            let a = match sa {
                SockAddr::Inet(a) => a,
                SockAddr::Unspec if matches!(i.ep, Endpoint::Tcp(_) | Endpoint::Udp(_)) => {
                    return Err(Errno::EAFNOSUPPORT)
                }
                _ => return Err(Errno::EINVAL),
            };
            match &i.ep {
                Endpoint::Tcp(e) => e.bind(a),
                Endpoint::Udp(e) => e.bind(a),
                Endpoint::Icmp(e) => e.bind(a),
                Endpoint::Raw(e) => e.bind(a),
                Endpoint::Packet(_) => Ok(()),
            }
            .map_err(net::errno)?;
            Ok(0)
        }
        Kind::Unix(u) => {
            let SockAddr::Unix(name) = sa else {
                return Err(Errno::EINVAL);
            };
            if name.is_empty() {
                // Autobind: Linux picks an abstract name; an unnamed socket is close.
                return Ok(0);
            }
            if u.is_bound() {
                return Err(Errno::EINVAL);
            }
            let node = if name[0] == 0 {
                None
            } else {
                let creds = k.creds();
                let fs = k.fs();
                let cwd = fs.cwd.clone();
                let mode = crate::fs::mode::S_IFSOCK | 0o777;
                Some(
                    crate::fs::ops::mknod(fs, &creds, &cwd, &name, mode, 0).map_err(|e| {
                        if e == Errno::EEXIST {
                            Errno::EADDRINUSE
                        } else {
                            e
                        }
                    })?,
                )
            };
            u.bind(&s, name, node)?;
            Ok(0)
        }
        Kind::Netlink(n) => match sa {
            SockAddr::Netlink { pid, groups } => {
                n.bind(pid, groups);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
    }
}

pub fn listen<K: Kernel>(k: &mut K, fd: u64, backlog: u64) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let backlog = (backlog as i32).clamp(0, 4096);
    match &s.kind {
        Kind::Inet(i) => match &i.ep {
            Endpoint::Tcp(e) => e.listen(backlog).map_err(net::errno)?,
            _ => return Err(Errno::EOPNOTSUPP),
        },
        Kind::Unix(u) => u.listen(backlog)?,
        Kind::Netlink(_) => return Err(Errno::EOPNOTSUPP),
    }
    k.net_kick();
    Ok(0)
}

pub fn accept4<K: Kernel>(k: &mut K, fd: u64, addr: u64, lenp: u64, fl: u64) -> SysResult {
    if fl & !u64::from(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_of(k, fd)?;
    let timeout = s.opts.lock().rcvtimeo;
    let (child, peer) = loop {
        let r = match &s.kind {
            Kind::Inet(i) => match &i.ep {
                Endpoint::Tcp(e) => e.accept().map_err(net::errno).map(|(c, peer)| {
                    let inet = Inet {
                        ep: Endpoint::Tcp(c),
                        stack: i.stack.clone(),
                        rights: i.rights,
                        ty: SOCK_STREAM,
                        protocol: i.protocol,
                    };
                    (Socket::inet(inet), SockAddr::Inet(peer))
                }),
                _ => Err(Errno::EOPNOTSUPP),
            },
            Kind::Unix(u) => u.accept().map(|c| {
                let peer = match &c.kind {
                    Kind::Unix(cu) => SockAddr::Unix(cu.peer_name().unwrap_or_default()),
                    _ => SockAddr::Unix(Vec::new()),
                };
                (c, peer)
            }),
            Kind::Netlink(_) => Err(Errno::EOPNOTSUPP),
        };
        match r {
            Err(Errno::EAGAIN) => block(k, &f, &s, poll::POLLIN, false, timeout)?,
            r => break r?,
        }
    };
    k.net_kick();
    // An accepted connection is made by the listener's capability.
    let maker = matches!(s.kind, Kind::Inet(_)).then_some(fd as i32 as i64);
    let newfd = install_made_by(k, child, fl as u32, maker)?;
    if let Err(e) = write_addr(k, addr, lenp, &peer) {
        let _ = k.with_caps(|sys, t| t.close(sys, i64::from(newfd)));
        return Err(e);
    }
    Ok(u64::from(newfd))
}

pub fn connect<K: Kernel>(k: &mut K, fd: u64, addr: u64, len: u64) -> SysResult {
    let (f, s) = sock_of(k, fd)?;
    let sa = read_addr(k, addr, len)?;
    match &s.kind {
        Kind::Netlink(_) => Ok(0),
        Kind::Unix(u) => {
            let SockAddr::Unix(name) = sa else {
                return Err(Errno::EINVAL);
            };
            let node = unix_target(k, &name)?;
            loop {
                match u.connect(&s, node.as_ref(), &name) {
                    Err(Errno::EAGAIN) if !f.nonblocking() => {
                        let Some(l) = unix::bound_at(node.as_ref(), &name) else {
                            return Err(Errno::ECONNREFUSED);
                        };
                        let l2 = l.clone();
                        k.wait(l.key, &mut || !unix::backlog_full(&l2))?;
                    }
                    r => return r.map(|_| 0),
                }
            }
        }
        Kind::Inet(i) => {
            let a = match sa {
                SockAddr::Inet(a) => a,
                SockAddr::Unspec => {
                    return match &i.ep {
                        Endpoint::Udp(e) => e.disconnect().map(|_| 0).map_err(net::errno),
                        _ => Ok(0),
                    }
                }
                _ => return Err(Errno::EAFNOSUPPORT),
            };
            let r = match &i.ep {
                Endpoint::Tcp(e) => return tcp_connect(k, &f, &s, e, a),
                Endpoint::Udp(e) => e.connect(a),
                Endpoint::Icmp(e) => e.connect(a),
                Endpoint::Raw(e) => e.connect(a),
                Endpoint::Packet(_) => return Err(Errno::EOPNOTSUPP),
            };
            r.map(|_| 0).map_err(net::errno)
        }
    }
}

fn tcp_connect<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    s: &Arc<Socket>,
    e: &netobj::TcpEndpoint,
    a: SocketAddrV4,
) -> SysResult {
    let r = e.connect(a);
    k.net_kick();
    // A nonblocking connect answers EINPROGRESS even when the handshake finished in the
    // kick (loopback), as Linux does: its loopback SYN-ACK is processed only after the
    // call checked the state.
    match r {
        Ok(()) => return Ok(0),
        Err(NetError::InProgress) if f.nonblocking() => return Err(Errno::EINPROGRESS),
        Err(NetError::InProgress) => {}
        Err(err) => return Err(net::errno(err)),
    }
    let timeout = s.opts.lock().sndtimeo;
    loop {
        match block(k, f, s, poll::POLLOUT, false, timeout) {
            Ok(()) => {}
            Err(Errno::EAGAIN) => return Err(Errno::EINPROGRESS),
            Err(err) => return Err(err),
        }
        match e.connect(a) {
            Ok(()) => return Ok(0),
            Err(NetError::Already | NetError::InProgress) => continue,
            Err(err) => return Err(net::errno(err)),
        }
    }
}

pub fn getsockname<K: Kernel>(k: &mut K, fd: u64, addr: u64, lenp: u64) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let sa = match &s.kind {
        Kind::Inet(i) => SockAddr::Inet(
            match &i.ep {
                Endpoint::Tcp(e) => e.local_addr(),
                Endpoint::Udp(e) => e.local_addr(),
                Endpoint::Icmp(e) => e.local_addr(),
                Endpoint::Raw(_) | Endpoint::Packet(_) => {
                    Ok(SocketAddrV4::new(core::net::Ipv4Addr::UNSPECIFIED, 0))
                }
            }
            .map_err(net::errno)?,
        ),
        Kind::Unix(u) => SockAddr::Unix(u.name()),
        Kind::Netlink(n) => n.name(),
    };
    write_addr(k, addr, lenp, &sa).map(|_| 0)
}

pub fn getpeername<K: Kernel>(k: &mut K, fd: u64, addr: u64, lenp: u64) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let sa = match &s.kind {
        Kind::Inet(i) => SockAddr::Inet(
            match &i.ep {
                Endpoint::Tcp(e) => e.peer_addr(),
                Endpoint::Udp(e) => e.peer_addr(),
                _ => Err(NetError::NotConnected),
            }
            .map_err(net::errno)?,
        ),
        Kind::Unix(u) => SockAddr::Unix(u.peer_name()?),
        Kind::Netlink(_) => SockAddr::Netlink { pid: 0, groups: 0 },
    };
    write_addr(k, addr, lenp, &sa).map(|_| 0)
}

/// Whether IP_RECVTTL is on for a datagram socket.
fn recvttl(s: &Socket) -> bool {
    let Some(i) = s.inet_ref() else { return false };
    match &i.ep {
        Endpoint::Udp(e) => e.option(SockOpt::IpRecvTtl),
        Endpoint::Icmp(e) => e.option(SockOpt::IpRecvTtl),
        Endpoint::Raw(e) => e.option(SockOpt::IpRecvTtl),
        _ => return false,
    }
    .is_ok_and(|v| v != 0)
}

/// Whether `ip` is one of this machine's addresses (loopback or the device's).
fn is_local(s: &Socket, ip: core::net::Ipv4Addr) -> bool {
    ip.is_loopback()
        || s.inet_ref()
            .and_then(|i| i.stack.config().address)
            .is_some_and(|(a, _)| a == ip)
}

fn is_stream(s: &Socket) -> bool {
    match &s.kind {
        Kind::Inet(i) => matches!(i.ep, Endpoint::Tcp(_)),
        Kind::Unix(u) => u.stream_type() != SOCK_DGRAM,
        Kind::Netlink(_) => false,
    }
}

/// Send `data` (to `dest`), blocking as allowed; SIGPIPE on EPIPE unless MSG_NOSIGNAL.
fn send_data<K: Kernel>(
    k: &mut K,
    fd: u64,
    data: &[u8],
    fl: u64,
    dest: Option<SockAddr>,
) -> SysResult {
    let (f, s) = sock_of(k, fd)?;
    if fl & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let r = send_inner(k, &f, &s, data, fl, dest);
    if r == Err(Errno::EPIPE) && fl & MSG_NOSIGNAL == 0 {
        let info = crate::signal::SigInfo {
            signo: crate::signal::SIGPIPE,
            pid: k.pid(),
            ..Default::default()
        };
        let me = k.pid() as i32;
        let _ = k.send_signal(me, info);
    }
    r
}

fn send_inner<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    s: &Arc<Socket>,
    data: &[u8],
    fl: u64,
    dest: Option<SockAddr>,
) -> SysResult {
    let stream = is_stream(s);
    // A connected stream socket ignores the address (Linux: EISCONN only for AF_UNIX).
    let dest = if stream && matches!(s.kind, Kind::Inet(_)) {
        None
    } else {
        dest
    };
    let timeout = s.opts.lock().sndtimeo;
    let dontwait = fl & MSG_DONTWAIT != 0;
    let mut done = 0usize;
    loop {
        let r = match (&s.kind, &dest) {
            (Kind::Unix(u), Some(SockAddr::Unix(name))) if !stream => {
                let node = unix_target(k, name)?;
                u.send_to(&data[done..], node.as_ref(), name)
            }
            _ => s.send(&data[done..], dest.clone()),
        };
        match r {
            Ok(n) => {
                done += n;
                k.net_kick();
                if !stream || done >= data.len() || dontwait || f.nonblocking() {
                    return Ok(done as u64);
                }
            }
            Err(Errno::EAGAIN) => {
                if let Err(e) = block(k, f, s, poll::POLLOUT, dontwait, timeout) {
                    return if done > 0 { Ok(done as u64) } else { Err(e) };
                }
            }
            Err(e) if done > 0 && e != Errno::EPIPE => return Ok(done as u64),
            Err(e) => return Err(e),
        }
    }
}

/// Receive up to `len` bytes, blocking as allowed.
fn recv_data<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    s: &Arc<Socket>,
    len: usize,
    fl: u64,
) -> Result<(Vec<u8>, Received), Errno> {
    if fl & MSG_OOB != 0 {
        return Err(Errno::EINVAL);
    }
    let peek = fl & MSG_PEEK != 0;
    let dontwait = fl & MSG_DONTWAIT != 0;
    let timeout = s.opts.lock().rcvtimeo;
    let mut buf = vec![0u8; len.min(CHUNK)];
    let waitall = fl & MSG_WAITALL != 0 && is_stream(s) && !peek;
    let mut got = 0usize;
    loop {
        match s.recv(&mut buf[got..], peek) {
            Ok(mut r) => {
                if waitall && r.copied > 0 && got + r.copied < buf.len() {
                    got += r.copied;
                    continue;
                }
                r.copied += got;
                r.len = r.len.max(r.copied);
                if !peek {
                    k.net_kick();
                }
                buf.truncate(r.copied);
                return Ok((buf, r));
            }
            Err(Errno::EAGAIN) => {
                if let Err(e) = block(k, f, s, poll::POLLIN, dontwait, timeout) {
                    if got > 0 {
                        buf.truncate(got);
                        return Ok((
                            buf,
                            Received {
                                copied: got,
                                len: got,
                                from: None,
                            },
                        ));
                    }
                    return Err(e);
                }
            }
            Err(e) if got > 0 => {
                let _ = e;
                buf.truncate(got);
                return Ok((
                    buf,
                    Received {
                        copied: got,
                        len: got,
                        from: None,
                    },
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn sendto<K: Kernel>(
    k: &mut K,
    fd: u64,
    buf: u64,
    len: u64,
    fl: u64,
    addr: u64,
    alen: u64,
) -> SysResult {
    let len = len.min(crate::uaccess::MAX_RW_COUNT);
    let user = UserSlice::new(buf, len)?;
    let dest = if addr == 0 {
        None
    } else {
        Some(read_addr(k, addr, alen)?)
    };
    send_chunks(k, fd, &[user], fl, dest)
}

/// Sends the bytes of `iovs` through a kernel buffer of at most CHUNK bytes at a time
/// (a stream goes on chunk by chunk until one is cut short; a datagram must fit one
/// buffer, EMSGSIZE otherwise — every datagram type's limit is below it).
fn send_chunks<K: Kernel>(
    k: &mut K,
    fd: u64,
    iovs: &[UserSlice],
    fl: u64,
    dest: Option<SockAddr>,
) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let total: u64 = iovs.iter().map(|v| v.len()).sum();
    if !is_stream(&s) && total > CHUNK as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut done = 0u64;
    let (mut iov, mut off) = (0usize, 0u64);
    loop {
        let mut data = Vec::with_capacity((total - done).min(CHUNK as u64) as usize);
        while data.len() < CHUNK && iov < iovs.len() {
            let v = &iovs[iov];
            let n = (v.len() - off).min((CHUNK - data.len()) as u64) as usize;
            let at = data.len();
            data.resize(at + n, 0);
            if let Err(e) = v.read_at(k.mem(), off, &mut data[at..]) {
                if done > 0 {
                    return Ok(done);
                }
                return Err(e);
            }
            off += n as u64;
            if off >= v.len() {
                iov += 1;
                off = 0;
            }
        }
        let n = data.len() as u64;
        match send_data(k, fd, &data, fl, dest.clone()) {
            Ok(w) => {
                done += w;
                if w < n || done >= total {
                    return Ok(done);
                }
            }
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(e),
        }
    }
}

pub fn recvfrom<K: Kernel>(
    k: &mut K,
    fd: u64,
    buf: u64,
    len: u64,
    fl: u64,
    addr: u64,
    lenp: u64,
) -> SysResult {
    let (f, s) = sock_of(k, fd)?;
    let len = len.min(crate::uaccess::MAX_RW_COUNT);
    let user = UserSlice::new(buf, len)?;
    let (data, r) = recv_data(k, &f, &s, len as usize, fl)?;
    user.write_at(k.mem(), 0, &data)?;
    if let Some(from) = &r.from {
        write_addr(k, addr, lenp, from)?;
    } else if addr != 0 && lenp != 0 {
        // No sender address (streams, unnamed AF_UNIX senders): length 0, as Linux.
        k.mem().write(lenp, &0u32.to_le_bytes())?;
    }
    Ok(if fl & MSG_TRUNC != 0 { r.len } else { r.copied } as u64)
}

struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

fn read_msghdr<K: Kernel>(k: &mut K, msg: u64) -> Result<MsgHdr, Errno> {
    let mut b = [0u8; 56];
    k.mem().read(msg, &mut b)?;
    let q = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    Ok(MsgHdr {
        name: q(0),
        namelen: u32::from_le_bytes(b[8..12].try_into().unwrap()),
        iov: q(16),
        iovlen: q(24),
        control: q(32),
        controllen: q(40),
    })
}

pub fn sendmsg<K: Kernel>(k: &mut K, fd: u64, msg: u64, fl: u64) -> SysResult {
    let h = read_msghdr(k, msg)?;
    let iovs = read_iovecs(k.mem(), h.iov, h.iovlen as usize)?;
    let dest = if h.name == 0 || h.namelen == 0 {
        None
    } else {
        Some(read_addr(k, h.name, u64::from(h.namelen))?)
    };
    // Control messages (SCM_RIGHTS, ...) are not implemented and are ignored.
    send_chunks(k, fd, &iovs, fl, dest)
}

pub fn recvmsg<K: Kernel>(k: &mut K, fd: u64, msg: u64, fl: u64) -> SysResult {
    let (f, s) = sock_of(k, fd)?;
    let h = read_msghdr(k, msg)?;
    let iovs = read_iovecs(k.mem(), h.iov, h.iovlen as usize)?;
    let total: u64 = iovs.iter().map(|v| v.len()).sum();
    let (data, r) = recv_data(k, &f, &s, total as usize, fl)?;
    let mut off = 0usize;
    for v in &iovs {
        if off >= data.len() {
            break;
        }
        let n = (v.len() as usize).min(data.len() - off);
        v.write_at(k.mem(), 0, &data[off..off + n])?;
        off += n;
    }
    let mut out_flags = 0u32;
    if r.len > r.copied && !is_stream(&s) {
        out_flags |= MSG_TRUNC as u32;
    }
    // msg_namelen: the sender's address, or 0 when there is none (streams).
    if h.name != 0 {
        match &r.from {
            Some(from) => {
                let bytes = from.encode();
                let n = bytes.len().min(h.namelen as usize);
                k.mem().write(h.name, &bytes[..n])?;
                k.mem()
                    .write(msg + 8, &(bytes.len() as u32).to_le_bytes())?;
            }
            None => k.mem().write(msg + 8, &0u32.to_le_bytes())?,
        }
    }
    // IP_RECVTTL: the stack does not keep a received datagram's TTL, so the IP_TTL
    // control message is produced only where the TTL is known: datagrams from this
    // machine's own addresses, which its stack sends with TTL 64. Elsewhere no control
    // message is produced.
    let mut control_len = 0u64;
    if h.control != 0 && h.controllen > 0 {
        if let Some(SockAddr::Inet(from)) = &r.from {
            if recvttl(&s) && is_local(&s, *from.ip()) {
                if h.controllen >= 24 {
                    let mut c = [0u8; 24];
                    c[0..8].copy_from_slice(&20u64.to_le_bytes());
                    c[8..12].copy_from_slice(&0i32.to_le_bytes());
                    c[12..16].copy_from_slice(&2i32.to_le_bytes());
                    c[16..20].copy_from_slice(&64i32.to_le_bytes());
                    k.mem().write(h.control, &c)?;
                    control_len = 24;
                } else {
                    out_flags |= MSG_CTRUNC;
                }
            }
        }
        k.mem().write(msg + 40, &control_len.to_le_bytes())?;
    }
    k.mem().write(msg + 48, &out_flags.to_le_bytes())?;
    Ok(if fl & MSG_TRUNC != 0 { r.len } else { r.copied } as u64)
}

pub fn shutdown<K: Kernel>(k: &mut K, fd: u64, how: u64) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let how = match how {
        0 => Shutdown::Read,
        1 => Shutdown::Write,
        2 => Shutdown::Both,
        _ => return Err(Errno::EINVAL),
    };
    match &s.kind {
        Kind::Inet(i) => match &i.ep {
            Endpoint::Tcp(e) => e.shutdown(how).map_err(net::errno)?,
            Endpoint::Udp(e) => e.shutdown(how).map_err(net::errno)?,
            _ => return Err(Errno::ENOTCONN),
        },
        Kind::Unix(u) => u.shutdown(match how {
            Shutdown::Read => 0,
            Shutdown::Write => 1,
            Shutdown::Both => 2,
        })?,
        Kind::Netlink(_) => return Err(Errno::ENOTCONN),
    }
    k.net_kick();
    Ok(0)
}

fn read_int<K: Kernel>(k: &mut K, val: u64, len: u64) -> Result<i32, Errno> {
    if len < 4 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 4];
    k.mem().read(val, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn read_timeval<K: Kernel>(k: &mut K, val: u64, len: u64) -> Result<Option<u64>, Errno> {
    if len < 16 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 16];
    k.mem().read(val, &mut b)?;
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap());
    let usec = i64::from_le_bytes(b[8..].try_into().unwrap());
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 || (sec == 0 && usec == 0) {
        // Linux: a negative or zero timeout means "block forever".
        return Ok(None);
    }
    Ok(Some(
        (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(usec as u64 * 1000),
    ))
}

pub fn setsockopt<K: Kernel>(
    k: &mut K,
    fd: u64,
    level: u64,
    name: u64,
    val: u64,
    len: u64,
) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let (level, name) = (level as i32, name as i32);
    if (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    if level == SOL_SOCKET {
        match name {
            SO_RCVTIMEO | SO_SNDTIMEO => {
                let t = read_timeval(k, val, len)?;
                if t.is_some() {
                    TIMED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                }
                let mut o = s.opts.lock();
                if name == SO_RCVTIMEO {
                    o.rcvtimeo = t;
                } else {
                    o.sndtimeo = t;
                }
                return Ok(0);
            }
            SO_BINDTODEVICE => {
                let mut b = vec![0u8; (len as usize).min(16)];
                k.mem().read(val, &mut b)?;
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                b.truncate(end);
                if let Some(i) = s.inet_ref() {
                    if !b.is_empty()
                        && !net::ifconf::interfaces(&i.stack)
                            .iter()
                            .any(|f| f.name.as_bytes() == b.as_slice())
                    {
                        return Err(Errno::ENODEV);
                    }
                }
                s.opts.lock().bound_dev = b;
                return Ok(0);
            }
            SO_LINGER | SO_PASSCRED => return Ok(0),
            _ => {}
        }
    }
    let value = read_int(k, val, len)?;
    match &s.kind {
        Kind::Unix(_) | Kind::Netlink(_) => {
            // AF_UNIX and netlink keep no options yet; the generic ones are accepted.
            if level == SOL_SOCKET || (level == SOL_NETLINK && matches!(s.kind, Kind::Netlink(_))) {
                Ok(0)
            } else {
                Err(Errno::ENOPROTOOPT)
            }
        }
        Kind::Inet(i) => {
            let Some(opt) = SockOpt::from_linux(level, name) else {
                // Options the stack does not model: accept the harmless ones as Linux
                // programs set them routinely, refuse the rest.
                return if level == SOL_SOCKET || level == SOL_IP || level == 6 {
                    Ok(0)
                } else {
                    Err(Errno::ENOPROTOOPT)
                };
            };
            let _ = IP_RECVTTL;
            match &i.ep {
                Endpoint::Tcp(e) => e.set_option(opt, value),
                Endpoint::Udp(e) => e.set_option(opt, value),
                Endpoint::Icmp(e) => e.set_option(opt, value),
                Endpoint::Raw(e) => e.set_option(opt, value),
                Endpoint::Packet(_) => Ok(()),
            }
            .map(|_| 0)
            .map_err(net::errno)
        }
    }
}

pub fn getsockopt<K: Kernel>(
    k: &mut K,
    fd: u64,
    level: u64,
    name: u64,
    val: u64,
    lenp: u64,
) -> SysResult {
    let (_, s) = sock_of(k, fd)?;
    let (level, name) = (level as i32, name as i32);
    let mut lb = [0u8; 4];
    k.mem().read(lenp, &mut lb)?;
    let len = i32::from_le_bytes(lb);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let out: Vec<u8> = if level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
        let o = s.opts.lock();
        let t = if name == SO_RCVTIMEO {
            o.rcvtimeo
        } else {
            o.sndtimeo
        }
        .unwrap_or(0);
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&((t / 1_000_000_000) as i64).to_le_bytes());
        v.extend_from_slice(&(((t % 1_000_000_000) / 1000) as i64).to_le_bytes());
        v
    } else if level == SOL_SOCKET && name == SO_BINDTODEVICE {
        let mut v = s.opts.lock().bound_dev.clone();
        if !v.is_empty() {
            v.push(0);
        }
        v
    } else if level == SOL_SOCKET && name == SO_PEERCRED {
        // struct ucred of the peer. Without one (not connected, not AF_UNIX) Linux
        // reports pid 0 and ids -1.
        let (pid, uid, gid) = match &s.kind {
            Kind::Unix(u) => u.peer_cred().unwrap_or((0, u32::MAX, u32::MAX)),
            _ => (0, u32::MAX, u32::MAX),
        };
        let mut v = Vec::with_capacity(12);
        v.extend_from_slice(&pid.to_le_bytes());
        v.extend_from_slice(&uid.to_le_bytes());
        v.extend_from_slice(&gid.to_le_bytes());
        v
    } else {
        let v: i32 = match (level, name, &s.kind) {
            (SOL_SOCKET, SO_DOMAIN, Kind::Unix(_)) => i32::from(AF_UNIX),
            (SOL_SOCKET, SO_DOMAIN, Kind::Netlink(_)) => i32::from(AF_NETLINK),
            (SOL_SOCKET, SO_PROTOCOL, Kind::Netlink(_)) => 0,
            (SOL_SOCKET, 3, Kind::Netlink(_)) => SOCK_RAW as i32,
            (SOL_SOCKET, 4, Kind::Netlink(_)) => 0,
            (SOL_SOCKET, 7 | 8, Kind::Netlink(_)) => 212_992,
            (_, _, Kind::Netlink(_)) => return Err(Errno::ENOPROTOOPT),
            (SOL_SOCKET, SO_DOMAIN, Kind::Inet(i)) => {
                if matches!(i.ep, Endpoint::Packet(_)) {
                    i32::from(AF_PACKET)
                } else {
                    i32::from(AF_INET)
                }
            }
            (SOL_SOCKET, SO_PROTOCOL, Kind::Unix(_)) => 0,
            (SOL_SOCKET, SO_PROTOCOL, Kind::Inet(i)) => match (&i.ep, i.protocol) {
                (Endpoint::Tcp(_), _) => IPPROTO_TCP as i32,
                (Endpoint::Udp(_), _) => IPPROTO_UDP as i32,
                (_, p) => p as i32,
            },
            (SOL_SOCKET, 3, Kind::Unix(u)) => u.stream_type() as i32,
            (SOL_SOCKET, 4, Kind::Unix(_)) => 0,
            (SOL_SOCKET, 7 | 8, Kind::Unix(_)) => 212_992,
            (_, _, Kind::Unix(_)) => return Err(Errno::ENOPROTOOPT),
            (_, _, Kind::Inet(i)) => {
                if level == SOL_SOCKET && name == 3 {
                    // SO_TYPE as created (a ping socket is SOCK_DGRAM, raw SOCK_RAW).
                    i.ty as i32
                } else {
                    let opt = SockOpt::from_linux(level, name).ok_or(Errno::ENOPROTOOPT)?;
                    match &i.ep {
                        Endpoint::Tcp(e) => e.option(opt),
                        Endpoint::Udp(e) => e.option(opt),
                        Endpoint::Icmp(e) => e.option(opt),
                        Endpoint::Raw(e) => e.option(opt),
                        Endpoint::Packet(_) => Err(NetError::NoProtoOpt),
                    }
                    .map_err(net::errno)?
                }
            }
        };
        v.to_le_bytes().to_vec()
    };
    let n = out.len().min(len as usize);
    k.mem().write(val, &out[..n])?;
    k.mem().write(lenp, &(n as u32).to_le_bytes())?;
    Ok(0)
}
