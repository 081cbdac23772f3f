//! Sockets: what a Linux socket file descriptor is on Writ.
//!
//! ## The fd / endpoint relation
//!
//! A socket descriptor is like every other descriptor ([`crate::fd`]): slot N of the
//! process's fd CNode holds a capability to a [`crate::file::FileObject`], whose
//! [`crate::file::OpenFile`] (the Linux open file description, shared by `dup`, `fork`
//! and `SCM_RIGHTS`-free inheritance) carries the status flags — so `O_NONBLOCK` set with
//! `fcntl` or `FIONBIO` on one descriptor is seen through every duplicate, as on Linux,
//! and the fd-generic calls (read, write, poll, fcntl, close-on-exec, close) need nothing
//! socket-specific. The file behind it is a [`Socket`].
//!
//! An Internet socket is an endpoint *made by invoking the process's NetStack
//! capability* (authority CNode slot [`crate::fd::AUTH_NETSTACK`]): `socket(2)` is
//! the NetStack's Create invocation (`CreateTcp`, `CreateIcmp`, ...; see
//! `netobj::capobj`) through [`crate::fd::FdTable::make`], whose destination is the
//! lowest free descriptor slot. The NetStack object's wrapper ([`socket_object`])
//! puts the endpoint in that slot as a socket's open file, so the slot holds one
//! object that is both the endpoint and the Linux open file description (status
//! flags, options, wait key) — for a socket the two are the same thing, as on Linux,
//! where a socket cannot be opened twice. So:
//!
//! - the rights check happens in the invocation's decode, against the rights of the
//!   cap the caller holds *now* (a process that dropped root holds a derived cap
//!   without RAW, see [`drop_net_privileges`]), and a missing right answers as Linux
//!   does (EPERM for raw/packet/configuration, EACCES for ping sockets and ports below
//!   1024, `netobj::capobj::errno_for_missing`); the debug console's `trace` shows the
//!   invocation with the rights it needed and had;
//! - the endpoint's capability is a *made* CDT child of the NetStack capability
//!   (`caps`: an object created through another object's capability hangs under it),
//!   and an accepted connection's is made by its listener's: the console's `caps` and
//!   `cdt` show where each socket came from, and revoking a NetStack capability
//!   deletes every endpoint made through it or its copies (fork copies the authority
//!   CNode), in every process. The endpoint is told it was revoked and resets at once
//!   (a call blocked on it fails with ENETDOWN); its descriptor is gone (EBADF);
//! - the interface-changing ioctls (SIOCSIF*, SIOCADDRT) check CONFIGURE on the rights
//!   the socket was created with — authority travels with the object, not the uid.

//! ## Blocking
//!
//! netobj endpoints never block. Each [`Socket`] has a wait key; its endpoint gets a
//! `Waker` that wakes that key ([`crate::file::wake`]), so a blocking call is the
//! personality's usual loop: try, on EAGAIN wait on the key until `poll` shows the
//! wanted bits, try again (SO_RCVTIMEO/SO_SNDTIMEO become the wait's deadline).
//! Whoever queues data must make the stack run: the socket system calls call
//! `Kernel::net_kick`; paths that have no `Kernel` (write(2) through the generic fd
//! layer, the last close) wake [`KEY_NET_THREAD`], the kernel net thread's key.
//!
//! AF_UNIX sockets ([`unix`]) live entirely here; interface ioctls and /proc/net text are
//! in [`ifconf`].

pub mod ifconf;
pub mod netlink;
pub mod unix;

#[cfg(test)]
mod tests;

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::task::Wake;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Waker;

use netobj::{
    IcmpEndpoint, NetDevice, NetError, NetRights, NetStack, PacketEndpoint, RawEndpoint, Readiness,
    TcpEndpoint, UdpEndpoint,
};
use spin::Mutex;

use crate::abi::Errno;
use crate::file::{poll, FileOps, FileStat};
use crate::uaccess::UserMemory;

pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const AF_NETLINK: u16 = 16;
pub const AF_PACKET: u16 = 17;

pub const SOCK_STREAM: u32 = 1;
pub const SOCK_DGRAM: u32 = 2;
pub const SOCK_RAW: u32 = 3;
pub const SOCK_SEQPACKET: u32 = 5;
pub const SOCK_NONBLOCK: u32 = 0o4000;
pub const SOCK_CLOEXEC: u32 = 0o2000000;

pub const IPPROTO_IP: u32 = 0;
pub const IPPROTO_ICMP: u32 = 1;
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;
pub const IPPROTO_RAW: u32 = 255;

/// Socket wait keys live in their own range (bit 52), apart from object ids, pipes
/// (bit 62), ptys (bit 56), events (0xe7 << 48) and the kernel's keys. Not bit 61: the
/// kernel's `KEY_CHILDREN | pid` is bit 61, so socket N's key was pid N's wait4 key and
/// the net thread's key (base | 0) the one the kernel waits for init on (pid 0's
/// children): every network wake-up also woke those waiters.
const KEY_BASE: u64 = 1 << 52;
/// The kernel's net thread sleeps on this key: waking it makes the stack run soon.
pub const KEY_NET_THREAD: u64 = KEY_BASE;
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Every live socket by wait key, so a system call can get from a descriptor's
/// `FileOps` back to its [`Socket`] (the file layer knows files only as trait objects).
static REGISTRY: Mutex<BTreeMap<u64, Weak<Socket>>> = Mutex::new(BTreeMap::new());

/// Asks the kernel's net thread to run the stack (a no-op in host tests).
pub fn kick_thread() {
    crate::file::wake(KEY_NET_THREAD);
}

struct KeyWake(u64);

impl Wake for KeyWake {
    fn wake(self: Arc<Self>) {
        crate::file::wake(self.0);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        crate::file::wake(self.0);
    }
}

/// A netobj endpoint of one of the Internet socket types.
pub enum Endpoint {
    Tcp(TcpEndpoint),
    Udp(UdpEndpoint),
    Icmp(IcmpEndpoint),
    Raw(RawEndpoint),
    Packet(PacketEndpoint),
}

impl Endpoint {
    pub fn readiness(&self) -> Readiness {
        match self {
            Endpoint::Tcp(e) => e.readiness(),
            Endpoint::Udp(e) => e.readiness(),
            Endpoint::Icmp(e) => e.readiness(),
            Endpoint::Raw(e) => e.readiness(),
            Endpoint::Packet(e) => e.readiness(),
        }
    }

    /// The endpoint type's name (what its descriptor's capability shows).
    pub fn type_name(&self) -> &'static str {
        match self {
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Udp(_) => "udp",
            Endpoint::Icmp(_) => "icmp",
            Endpoint::Raw(_) => "raw",
            Endpoint::Packet(_) => "packet",
        }
    }

    /// The endpoint's id in its stack (`netobj::SocketInfo::id`).
    pub fn id(&self) -> u64 {
        match self {
            Endpoint::Tcp(e) => e.id(),
            Endpoint::Udp(e) => e.id(),
            Endpoint::Icmp(e) => e.id(),
            Endpoint::Raw(e) => e.id(),
            Endpoint::Packet(e) => e.id(),
        }
    }

    /// Kill the endpoint: its NetStack authority was revoked.
    fn revoke(&self) {
        match self {
            Endpoint::Tcp(e) => e.revoke(),
            Endpoint::Udp(e) => e.revoke(),
            Endpoint::Icmp(e) => e.revoke(),
            Endpoint::Raw(e) => e.revoke(),
            Endpoint::Packet(e) => e.revoke(),
        };
    }

    fn set_waker(&self, w: Option<&Waker>) {
        match self {
            Endpoint::Tcp(e) => e.set_waker(w),
            Endpoint::Udp(e) => e.set_waker(w),
            Endpoint::Icmp(e) => e.set_waker(w),
            Endpoint::Raw(e) => e.set_waker(w),
            Endpoint::Packet(e) => e.set_waker(w),
        }
    }
}

/// What an Internet (or packet) socket holds besides its endpoint.
pub struct Inet {
    pub ep: Endpoint,
    /// The stack, for interface ioctls and /proc/net.
    pub stack: NetStack,
    /// Rights of the NetStack capability the socket was made through.
    pub rights: NetRights,
    /// SOCK_STREAM / SOCK_DGRAM / SOCK_RAW as created (SO_TYPE, /proc).
    pub ty: u32,
    /// The protocol as given to socket(2) (SO_PROTOCOL).
    pub protocol: u32,
}

/// What a socket is.
pub enum Kind {
    Inet(Inet),
    Unix(unix::UnixSock),
    Netlink(netlink::NetlinkSock),
}

/// Options the personality itself keeps (the stack keeps the rest).
#[derive(Default, Clone)]
pub struct Opts {
    /// SO_RCVTIMEO in ns (None: block forever).
    pub rcvtimeo: Option<u64>,
    /// SO_SNDTIMEO in ns.
    pub sndtimeo: Option<u64>,
    /// SO_BINDTODEVICE's interface name (empty: none).
    pub bound_dev: Vec<u8>,
}

/// A socket: the file behind a socket descriptor.
pub struct Socket {
    pub key: u64,
    pub kind: Kind,
    pub opts: Mutex<Opts>,
}

impl Socket {
    fn register(kind: Kind) -> Arc<Socket> {
        let key = KEY_BASE | NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let s = Arc::new(Socket {
            key,
            kind,
            opts: Mutex::new(Opts::default()),
        });
        REGISTRY.lock().insert(key, Arc::downgrade(&s));
        s
    }

    /// A socket around a netobj endpoint; its waker wakes the socket's key.
    pub fn inet(inet: Inet) -> Arc<Socket> {
        let s = Socket::register(Kind::Inet(inet));
        if let Kind::Inet(i) = &s.kind {
            let w = Waker::from(Arc::new(KeyWake(s.key)));
            i.ep.set_waker(Some(&w));
        }
        s
    }

    pub fn unix(u: unix::UnixSock) -> Arc<Socket> {
        Socket::register(Kind::Unix(u))
    }

    pub fn netlink(n: netlink::NetlinkSock) -> Arc<Socket> {
        Socket::register(Kind::Netlink(n))
    }

    /// The socket behind a descriptor's file, if it is one.
    pub fn of(ops: &Arc<dyn FileOps>) -> Option<Arc<Socket>> {
        let key = ops.wait_key();
        if key & KEY_BASE == 0 || key == KEY_NET_THREAD {
            return None;
        }
        let s = REGISTRY.lock().get(&key)?.upgrade()?;
        // The same object, not just the same key (keys of other files never have bit
        // 52, but a pointer comparison costs nothing).
        let same = core::ptr::addr_eq(Arc::as_ptr(ops), Arc::as_ptr(&s));
        same.then_some(s)
    }

    pub fn inet_ref(&self) -> Option<&Inet> {
        match &self.kind {
            Kind::Inet(i) => Some(i),
            _ => None,
        }
    }

    /// Linux poll bits now.
    pub fn events(&self) -> u16 {
        match &self.kind {
            Kind::Inet(i) if i.protocol == IPPROTO_RAW => poll::POLLOUT | 0x100,
            Kind::Inet(i) => i.ep.readiness().bits(),
            Kind::Unix(u) => u.poll(),
            Kind::Netlink(n) => n.poll(),
        }
    }

    /// Receive into `buf` without blocking: (bytes copied, full datagram length, sender).
    /// The caller makes the stack run afterwards (reading frees window).
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<Received, Errno> {
        match &self.kind {
            // An IPPROTO_RAW socket never receives (as on Linux).
            Kind::Inet(i) if i.protocol == IPPROTO_RAW => Err(Errno::EAGAIN),
            Kind::Inet(i) => {
                let r = match &i.ep {
                    Endpoint::Tcp(e) => e.recv(buf, peek).map(|n| Received {
                        copied: n,
                        len: n,
                        from: None,
                    }),
                    Endpoint::Udp(e) => e.recv_from(buf, peek).map(Received::from_net),
                    Endpoint::Icmp(e) => e.recv_from(buf, peek).map(Received::from_net),
                    Endpoint::Raw(e) => e.recv_from(buf, peek).map(Received::from_net),
                    Endpoint::Packet(e) => e.recv_from(buf, peek).map(|r| Received {
                        copied: r.copied,
                        len: r.len,
                        from: Some(SockAddr::Packet(LinkAddr {
                            protocol: netobj::ETH_P_IP,
                            ifindex: 2,
                            hatype: 1,
                            pkttype: 0,
                            addr: r.src_mac,
                        })),
                    }),
                };
                r.map_err(errno)
            }
            Kind::Unix(u) => u.recv(buf, peek),
            Kind::Netlink(n) => n.recv(buf, peek),
        }
    }

    /// Send without blocking. The caller makes the stack run afterwards
    /// (`Kernel::net_kick` in the socket calls, [`kick_thread`] on the fd paths).
    pub fn send(&self, data: &[u8], dest: Option<SockAddr>) -> Result<usize, Errno> {
        match &self.kind {
            Kind::Inet(i) => {
                if let Endpoint::Packet(e) = &i.ep {
                    let r = match dest {
                        Some(SockAddr::Packet(ll)) => e.send_to(data, ll.addr),
                        None => return Err(Errno::EDESTADDRREQ),
                        Some(_) => return Err(Errno::EINVAL),
                    };
                    return r.map_err(errno);
                }
                if i.protocol == IPPROTO_RAW {
                    // IPPROTO_RAW sockets serve interface ioctls (udhcpc); raw IP with
                    // IP_HDRINCL is not implemented.
                    return Err(Errno::EOPNOTSUPP);
                }
                let dest = match dest {
                    None => None,
                    Some(SockAddr::Inet(a)) => Some(a),
                    Some(_) => return Err(Errno::EINVAL),
                };
                let r = match &i.ep {
                    Endpoint::Tcp(e) => {
                        if dest.is_some() {
                            // Linux ignores the address on a connected stream socket
                            // and answers EISCONN only for unconnected ones.
                        }
                        e.send(data)
                    }
                    Endpoint::Udp(e) => e.send_to(data, dest),
                    Endpoint::Icmp(e) => e.send_to(data, dest),
                    Endpoint::Raw(e) => e.send_to(data, dest),
                    Endpoint::Packet(_) => Err(NetError::OpNotSupported),
                };
                r.map_err(errno)
            }
            Kind::Unix(u) => u.send(data, dest),
            Kind::Netlink(n) => n.send(data),
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        REGISTRY.lock().remove(&self.key);
        if let Kind::Inet(i) = &self.kind {
            i.ep.set_waker(None);
            // A TCP endpoint drops after this: its FIN (or RST) must go out soon. The
            // datagram types leave nothing to send.
            if matches!(i.ep, Endpoint::Tcp(_)) {
                kick_thread();
            }
        }
    }
}

/// One receive's outcome.
#[derive(Debug, Clone)]
pub struct Received {
    pub copied: usize,
    pub len: usize,
    pub from: Option<SockAddr>,
}

impl Received {
    fn from_net(r: netobj::Received) -> Received {
        Received {
            copied: r.copied,
            len: r.len,
            from: Some(SockAddr::Inet(r.from)),
        }
    }
}

/// A socket address as the calls pass it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    Unspec,
    Inet(SocketAddrV4),
    /// A path (no trailing NUL); empty for an unnamed socket. Abstract names start
    /// with a NUL byte.
    Unix(Vec<u8>),
    Netlink {
        pid: u32,
        groups: u32,
    },
    Packet(LinkAddr),
}

/// A sockaddr_ll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkAddr {
    /// Host-order EtherType (sll_protocol is big-endian on the wire).
    pub protocol: u16,
    pub ifindex: i32,
    pub hatype: u16,
    pub pkttype: u8,
    pub addr: [u8; 6],
}

impl SockAddr {
    /// Decode a user sockaddr of `len` bytes.
    pub fn parse(raw: &[u8]) -> Result<SockAddr, Errno> {
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        let family = u16::from_le_bytes([raw[0], raw[1]]);
        match family {
            AF_UNSPEC => Ok(SockAddr::Unspec),
            AF_INET => {
                if raw.len() < 16 {
                    return Err(Errno::EINVAL);
                }
                let port = u16::from_be_bytes([raw[2], raw[3]]);
                let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
                Ok(SockAddr::Inet(SocketAddrV4::new(ip, port)))
            }
            AF_UNIX => {
                let path = &raw[2..raw.len().min(110)];
                if path.first() == Some(&0) {
                    return Ok(SockAddr::Unix(path.to_vec()));
                }
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                Ok(SockAddr::Unix(path[..end].to_vec()))
            }
            AF_NETLINK => {
                if raw.len() < 12 {
                    return Err(Errno::EINVAL);
                }
                let pid = u32::from_le_bytes(raw[4..8].try_into().unwrap());
                let groups = u32::from_le_bytes(raw[8..12].try_into().unwrap());
                Ok(SockAddr::Netlink { pid, groups })
            }
            AF_PACKET => {
                if raw.len() < 20 {
                    return Err(Errno::EINVAL);
                }
                let mut addr = [0u8; 6];
                addr.copy_from_slice(&raw[12..18]);
                Ok(SockAddr::Packet(LinkAddr {
                    protocol: u16::from_be_bytes([raw[2], raw[3]]),
                    ifindex: i32::from_le_bytes(raw[4..8].try_into().unwrap()),
                    hatype: u16::from_le_bytes([raw[8], raw[9]]),
                    pkttype: raw[10],
                    addr,
                }))
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// The bytes of the sockaddr Linux would write.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            SockAddr::Unspec => AF_UNSPEC.to_le_bytes().to_vec(),
            SockAddr::Inet(a) => {
                let mut v = Vec::with_capacity(16);
                v.extend_from_slice(&AF_INET.to_le_bytes());
                v.extend_from_slice(&a.port().to_be_bytes());
                v.extend_from_slice(&a.ip().octets());
                v.extend_from_slice(&[0; 8]);
                v
            }
            SockAddr::Unix(p) => {
                let mut v = Vec::with_capacity(2 + p.len() + 1);
                v.extend_from_slice(&AF_UNIX.to_le_bytes());
                v.extend_from_slice(p);
                // Linux counts the NUL of a path name in the length it reports.
                if !p.is_empty() && p[0] != 0 {
                    v.push(0);
                }
                v
            }
            SockAddr::Packet(l) => {
                let mut v = Vec::with_capacity(20);
                v.extend_from_slice(&AF_PACKET.to_le_bytes());
                v.extend_from_slice(&l.protocol.to_be_bytes());
                v.extend_from_slice(&l.ifindex.to_le_bytes());
                v.extend_from_slice(&l.hatype.to_le_bytes());
                v.push(l.pkttype);
                v.push(6);
                v.extend_from_slice(&l.addr);
                v.extend_from_slice(&[0, 0]);
                v
            }
            SockAddr::Netlink { pid, groups } => {
                let mut v = Vec::with_capacity(12);
                v.extend_from_slice(&AF_NETLINK.to_le_bytes());
                v.extend_from_slice(&[0, 0]);
                v.extend_from_slice(&pid.to_le_bytes());
                v.extend_from_slice(&groups.to_le_bytes());
                v
            }
        }
    }
}

/// A netobj error as the errno Linux gives.
pub fn errno(e: NetError) -> Errno {
    Errno::from_code(e.errno()).unwrap_or(Errno::EIO)
}

const S_IFSOCK: u32 = 0o140000;

impl FileOps for Socket {
    // read(2)/write(2) through the generic fd layer have no Kernel to run the stack
    // with: they wake the net thread instead.
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let r = self.recv(buf, false).map(|r| r.copied);
        if r.is_ok() && matches!(self.kind, Kind::Inet(_)) {
            kick_thread();
        }
        r
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let r = self.send(data, None);
        if matches!(self.kind, Kind::Inet(_)) {
            kick_thread();
        }
        r
    }

    fn poll(&self) -> u16 {
        self.events()
    }

    fn wait_key(&self) -> u64 {
        self.key
    }

    fn stat(&self) -> FileStat {
        FileStat {
            dev: 8,
            ino: self.key & !KEY_BASE,
            mode: S_IFSOCK | 0o777,
            nlink: 1,
            blksize: 4096,
            ..FileStat::default()
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        ifconf::ioctl(self, cmd, arg, mem)
    }

    fn cap_type(&self) -> &'static str {
        match &self.kind {
            Kind::Inet(i) => i.ep.type_name(),
            Kind::Unix(_) => "unix",
            Kind::Netlink(_) => "netlink",
        }
    }

    fn revoked(&self) {
        // The endpoint dies now (a TCP connection is reset) and its waker wakes any
        // thread blocked on it, whose call then fails with ENETDOWN.
        if let Kind::Inet(i) = &self.kind {
            i.ep.revoke();
        }
    }
}

/// Poll bits that end a wait for `want`.
pub fn wanted(want: u16) -> u16 {
    want | poll::POLLERR | poll::POLLHUP
}

/// A device that never receives and drops everything it is given: the stack runs over
/// it when the machine has no network card, so loopback (127.0.0.1) always works.
pub struct NullDevice;

impl NetDevice for NullDevice {
    fn mac_address(&self) -> [u8; 6] {
        [0; 6]
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn receive(&mut self, _buf: &mut [u8]) -> Option<usize> {
        None
    }
    fn transmit(&mut self, _frame: &[u8]) -> bool {
        false
    }
}

/// The NetStack's object wrapper ([`netobj::capobj::Wrapper`]) on Writ: an endpoint
/// the stack makes for a Create invocation becomes a socket's open file, so the
/// descriptor slot the invocation names holds the endpoint with the Linux state
/// around it (status flags, options, wait key). Installed by whoever creates the
/// NetStack object (the kernel at boot, the host tests' fake kernel).
pub fn socket_object(
    stack: &NetStack,
    ep: netobj::capobj::NewEndpoint,
    caller: netobj::Caller,
    protocol: u32,
) -> Arc<dyn caps::DynObject> {
    use netobj::capobj::NewEndpoint as New;
    let (ep, ty, protocol) = match ep {
        New::Tcp(e) => (Endpoint::Tcp(e), SOCK_STREAM, protocol),
        New::Udp(e) => (Endpoint::Udp(e), SOCK_DGRAM, protocol),
        New::Icmp(e) => (Endpoint::Icmp(e), SOCK_DGRAM, protocol),
        New::Raw(e) => (Endpoint::Raw(e), SOCK_RAW, protocol),
        // socket(2) names a packet protocol in network byte order; the stack in host's.
        New::Packet(e) => (
            Endpoint::Packet(e),
            SOCK_DGRAM,
            u32::from((protocol as u16).swap_bytes()),
        ),
    };
    let s = Socket::inet(Inet {
        ep,
        stack: stack.clone(),
        rights: caller.rights,
        ty,
        protocol,
    });
    let f = crate::file::OpenFile::new(s, crate::file::flags::O_RDWR);
    Arc::new(crate::file::FileObject(f))
}

/// Authority slot used as scratch while the NetStack capability is replaced.
const AUTH_SCRATCH: u32 = 15;
/// Badges for derived NetStack capabilities (bit 48 up, apart from small test badges).
static NEXT_BADGE: AtomicU64 = AtomicU64::new(1 << 48);

/// The rights a process keeps when it stops being root: no raw or packet sockets, no
/// privileged ports, no configuration (Linux's CAP_NET_RAW, CAP_NET_BIND_SERVICE and
/// CAP_NET_ADMIN).
pub const ROOT_ONLY: NetRights = NetRights::RAW
    .union(NetRights::PACKET)
    .union(NetRights::BIND_PRIVILEGED)
    .union(NetRights::CONFIGURE);

/// Replaces the caller's NetStack capability by one derived from it without
/// [`ROOT_ONLY`] (Mint with a fresh badge when the cap is unbadged, so its endpoints can
/// be revoked apart; Copy otherwise). Sockets already open keep their endpoints, as
/// Linux keeps a raw socket opened before setuid.
pub fn drop_net_privileges<K: crate::syscall::Kernel>(k: &mut K) {
    k.with_caps(|sys, t| {
        let (Ok(slot), Ok(scratch)) = (
            t.authority_slot(sys, crate::fd::AUTH_NETSTACK),
            t.authority_slot(sys, AUTH_SCRATCH),
        ) else {
            return;
        };
        let Some(cap) = sys.cap_at(slot) else { return };
        let drop = netobj::capobj::cap_rights(ROOT_ONLY);
        if !cap.rights.intersects(drop) {
            return;
        }
        // Only the rights that mean something for a NetStack, so the derived cap
        // reads as what it allows (`RWGD+TCP_CONNECT+TCP_LISTEN+UDP+ICMP_ECHO`).
        let meaningful = caps::Rights::GENERIC | netobj::capobj::cap_rights(NetRights::all());
        let keep = (cap.rights & meaningful) - drop;
        let made = if cap.badge == 0 {
            sys.mint(
                slot,
                scratch,
                keep,
                NEXT_BADGE.fetch_add(1, Ordering::Relaxed),
            )
        } else {
            sys.copy(slot, scratch, keep)
        };
        if made.is_ok() && sys.delete(slot).is_ok() {
            let _ = sys.move_cap(scratch, slot);
        }
    });
}

/// The NetStack behind the caller's NetStack capability (for /proc/net and
/// /proc/sys/net: a process sees the stack its authority names, nothing if it holds
/// none).
pub fn stack_of<K: crate::syscall::Kernel>(k: &mut K) -> Option<NetStack> {
    k.with_caps(|sys, t| {
        let slot = t.authority_slot(sys, crate::fd::AUTH_NETSTACK).ok()?;
        let cap = sys.cap_at(slot)?;
        sys.object::<netobj::capobj::NetStackObject>(&cap)
            .map(|o| o.stack().clone())
    })
}
