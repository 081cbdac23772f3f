//! Interface configuration as Alpine's tools do it: the SIOC* ioctls on any socket
//! (ifconfig, route, udhcpc), FIONREAD, and the /proc/net texts.
//!
//! Writ has two interfaces: `lo` (index 1, always) and `eth0` (index 2, when the kernel
//! found a network device and told [`set_device`] its MAC). The NetStack is the backing
//! store: eth0's address, prefix and default gateway are its configuration
//! (`NetStack::config`), changed through `NetStack::configure` with the rights of the
//! NetStack capability the socket was made through — so a process without CONFIGURE gets
//! EPERM from SIOCSIFADDR/SIOCSIFFLAGS/SIOCADDRT, as non-root gets on Linux. lo's
//! address is fixed (127.0.0.1/8) and so are MTUs and broadcast addresses (changing
//! them is EOPNOTSUPP). IFF_UP on eth0 is the stack's `link_up` (`Configure::LinkUp`):
//! down, eth0 sends and receives nothing, its address is not used and its default route
//! is gone, as on Linux; lo's IFF_UP is recorded only (loopback always works).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicBool, Ordering};

use netobj::{Caller, Configure, NetStack};
use spin::Mutex;

use super::{Kind, Socket};
use crate::abi::Errno;
use crate::uaccess::UserMemory;

pub const SIOCADDRT: u32 = 0x890B;
pub const SIOCDELRT: u32 = 0x890C;
pub const SIOCGIFNAME: u32 = 0x8910;
pub const SIOCGIFCONF: u32 = 0x8912;
pub const SIOCGIFFLAGS: u32 = 0x8913;
pub const SIOCSIFFLAGS: u32 = 0x8914;
pub const SIOCGIFADDR: u32 = 0x8915;
pub const SIOCSIFADDR: u32 = 0x8916;
pub const SIOCGIFDSTADDR: u32 = 0x8917;
pub const SIOCGIFBRDADDR: u32 = 0x8919;
pub const SIOCSIFBRDADDR: u32 = 0x891A;
pub const SIOCGIFNETMASK: u32 = 0x891B;
pub const SIOCSIFNETMASK: u32 = 0x891C;
pub const SIOCGIFMETRIC: u32 = 0x891D;
pub const SIOCGIFMTU: u32 = 0x8921;
pub const SIOCSIFMTU: u32 = 0x8922;
pub const SIOCGIFHWADDR: u32 = 0x8927;
pub const SIOCGIFINDEX: u32 = 0x8933;
pub const SIOCGIFTXQLEN: u32 = 0x8942;
pub const FIONREAD: u32 = 0x541B;
pub const SIOCOUTQ: u32 = 0x5411;

pub const IFF_UP: u16 = 0x1;
pub const IFF_BROADCAST: u16 = 0x2;
pub const IFF_LOOPBACK: u16 = 0x8;
pub const IFF_RUNNING: u16 = 0x40;
pub const IFF_MULTICAST: u16 = 0x1000;

const IFREQ: usize = 40;

static DEVICE: Mutex<Option<[u8; 6]>> = Mutex::new(None);
static LO_UP: AtomicBool = AtomicBool::new(true);

/// The kernel found a network device with this MAC: eth0 exists.
pub fn set_device(mac: [u8; 6]) {
    *DEVICE.lock() = Some(mac);
}

/// One interface as the ioctls and netlink report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub index: u32,
    pub name: &'static str,
    pub flags: u16,
    pub mtu: u32,
    /// ARPHRD type (772 loopback, 1 Ethernet) and address.
    pub hwtype: u16,
    pub mac: [u8; 6],
    pub addr: Option<(Ipv4Addr, u8)>,
}

/// The interfaces of the machine (lo, and eth0 when there is a device).
pub fn interfaces(stack: &NetStack) -> Vec<Iface> {
    let lo_flags = if LO_UP.load(Ordering::Relaxed) {
        IFF_UP | IFF_LOOPBACK | IFF_RUNNING
    } else {
        IFF_LOOPBACK
    };
    let mut v = vec![Iface {
        index: 1,
        name: "lo",
        flags: lo_flags,
        mtu: 65536,
        hwtype: 772,
        mac: [0; 6],
        addr: Some((Ipv4Addr::LOCALHOST, 8)),
    }];
    if let Some(mac) = *DEVICE.lock() {
        let st = stack.stats();
        v.push(Iface {
            index: 2,
            name: "eth0",
            flags: if stack.config().link_up {
                IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST
            } else {
                IFF_BROADCAST | IFF_MULTICAST
            },
            mtu: st.mtu as u32,
            hwtype: 1,
            mac,
            addr: stack.config().address,
        });
    }
    v
}

pub fn mask_of(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(prefix.min(32)))
            .unwrap_or(0),
    )
}

fn prefix_of(mask: Ipv4Addr) -> Result<u8, Errno> {
    let m = u32::from(mask);
    let p = m.leading_ones();
    if m.checked_shl(p).unwrap_or(0) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(p as u8)
}

fn sockaddr_in(ip: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0..2].copy_from_slice(&super::AF_INET.to_le_bytes());
    b[4..8].copy_from_slice(&ip.octets());
    b
}

fn ip_of(sa: &[u8]) -> Result<Ipv4Addr, Errno> {
    if u16::from_le_bytes([sa[0], sa[1]]) != super::AF_INET {
        return Err(Errno::EINVAL);
    }
    Ok(Ipv4Addr::new(sa[4], sa[5], sa[6], sa[7]))
}

fn name_of(req: &[u8]) -> &[u8] {
    let n = &req[..16];
    &n[..n.iter().position(|&b| b == 0).unwrap_or(16)]
}

/// A socket's ioctl (the socket-independent ones; FIONBIO is the fd layer's).
pub fn ioctl(s: &Socket, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
    match cmd {
        FIONREAD => {
            let n: usize = match &s.kind {
                Kind::Unix(u) => u.pending(),
                _ => {
                    let mut buf = vec![0u8; 1 << 18];
                    match s.recv(&mut buf, true) {
                        Ok(r) if matches!(&s.kind, Kind::Inet(i) if matches!(i.ep, super::Endpoint::Tcp(_))) => {
                            r.copied
                        }
                        Ok(r) => r.len,
                        Err(_) => 0,
                    }
                }
            };
            mem.write(arg, &(n as i32).to_le_bytes())?;
            return Ok(0);
        }
        SIOCOUTQ => {
            mem.write(arg, &0i32.to_le_bytes())?;
            return Ok(0);
        }
        _ => {}
    }
    let Some(inet) = s.inet_ref() else {
        // Interface ioctls work on any socket on Linux (musl's if_nametoindex asks an
        // AF_UNIX socket): those sockets carry no stack, so the fd layer answers them
        // with the caller's NetStack capability ([`is_interface_ioctl`], [`iface_ioctl`]).
        return Err(Errno::ENOTTY);
    };
    iface_ioctl(&inet.stack, inet.rights, cmd, arg, mem)
}

/// Whether `cmd` is one of the interface and routing ioctls (0x89xx, SIOCGIFCONF ...).
pub fn is_interface_ioctl(cmd: u32) -> bool {
    (0x8900..=0x89ff).contains(&cmd)
}

/// The interface and routing ioctls, on the stack `stack` with the caller's NetStack
/// `rights` (CONFIGURE for changes).
pub fn iface_ioctl(
    stack: &NetStack,
    rights: netobj::NetRights,
    cmd: u32,
    arg: u64,
    mem: &mut dyn UserMemory,
) -> Result<usize, Errno> {
    let caller = Caller { rights, origin: 0 };
    if cmd == SIOCGIFCONF {
        let mut hdr = [0u8; 16];
        mem.read(arg, &mut hdr)?;
        let len = i32::from_le_bytes(hdr[0..4].try_into().unwrap());
        let buf = u64::from_le_bytes(hdr[8..16].try_into().unwrap());
        let ifs: Vec<Iface> = interfaces(stack)
            .into_iter()
            .filter(|i| i.addr.is_some() && i.flags & IFF_UP != 0)
            .collect();
        let mut out = Vec::new();
        for i in &ifs {
            let mut r = [0u8; IFREQ];
            r[..i.name.len()].copy_from_slice(i.name.as_bytes());
            r[16..32].copy_from_slice(&sockaddr_in(
                i.addr.map(|a| a.0).unwrap_or(Ipv4Addr::UNSPECIFIED),
            ));
            out.extend_from_slice(&r);
        }
        let written = if buf == 0 {
            out.len()
        } else {
            let room = (len.max(0) as usize) / IFREQ * IFREQ;
            let n = out.len().min(room);
            mem.write(buf, &out[..n])?;
            n
        };
        mem.write(arg, &(written as i32).to_le_bytes())?;
        return Ok(0);
    }
    if cmd == SIOCADDRT || cmd == SIOCDELRT {
        let mut rt = [0u8; 120];
        mem.read(arg, &mut rt)?;
        let dst = ip_of(&rt[8..24]).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let gw = ip_of(&rt[24..40]).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mask = ip_of(&rt[40..56]).unwrap_or(Ipv4Addr::UNSPECIFIED);
        if !rights.contains(netobj::NetRights::CONFIGURE) {
            return Err(Errno::EPERM);
        }
        if !dst.is_unspecified() || !mask.is_unspecified() {
            // Only the default route is a route of its own; a subnet route is the
            // interface address's (Linux answers EEXIST for it being there already).
            return Err(if cmd == SIOCADDRT {
                Errno::EEXIST
            } else {
                Errno::ESRCH
            });
        }
        let change = if cmd == SIOCADDRT {
            if stack.config().gateway.is_some() {
                return Err(Errno::EEXIST);
            }
            Configure::Gateway(Some(gw))
        } else {
            if stack.config().gateway.is_none() {
                return Err(Errno::ESRCH);
            }
            Configure::Gateway(None)
        };
        stack.configure(caller, change).map_err(super::errno)?;
        return Ok(0);
    }
    let mut req = [0u8; IFREQ];
    mem.read(arg, &mut req)?;
    let ifs = interfaces(stack);
    if cmd == SIOCGIFNAME {
        let idx = u32::from_le_bytes(req[16..20].try_into().unwrap());
        let i = ifs.iter().find(|i| i.index == idx).ok_or(Errno::ENODEV)?;
        req[..16].fill(0);
        req[..i.name.len()].copy_from_slice(i.name.as_bytes());
        mem.write(arg, &req)?;
        return Ok(0);
    }
    let name = name_of(&req).to_vec();
    let i = ifs
        .iter()
        .find(|i| i.name.as_bytes() == name.as_slice())
        .ok_or(Errno::ENODEV)?
        .clone();
    let configure = |change: Configure| stack.configure(caller, change).map_err(super::errno);
    let need_configure = || {
        if rights.contains(netobj::NetRights::CONFIGURE) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    };
    match cmd {
        SIOCGIFFLAGS => req[16..18].copy_from_slice(&i.flags.to_le_bytes()),
        SIOCGIFINDEX => req[16..20].copy_from_slice(&i.index.to_le_bytes()),
        SIOCGIFMTU => req[16..20].copy_from_slice(&i.mtu.to_le_bytes()),
        SIOCGIFMETRIC => req[16..20].copy_from_slice(&0u32.to_le_bytes()),
        SIOCGIFTXQLEN => req[16..20].copy_from_slice(&1000u32.to_le_bytes()),
        SIOCGIFHWADDR => {
            req[16..18].copy_from_slice(&i.hwtype.to_le_bytes());
            req[18..24].copy_from_slice(&i.mac);
            req[24..32].fill(0);
        }
        SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR | SIOCGIFDSTADDR => {
            let (a, p) = i.addr.ok_or(Errno::EADDRNOTAVAIL)?;
            let v = match cmd {
                SIOCGIFADDR => a,
                SIOCGIFNETMASK => mask_of(p),
                SIOCGIFBRDADDR if i.index == 1 => Ipv4Addr::UNSPECIFIED,
                SIOCGIFBRDADDR => Ipv4Addr::from(u32::from(a) | !u32::from(mask_of(p))),
                _ => Ipv4Addr::UNSPECIFIED,
            };
            req[16..32].copy_from_slice(&sockaddr_in(v));
        }
        SIOCSIFFLAGS => {
            need_configure()?;
            let f = u16::from_le_bytes([req[16], req[17]]);
            if i.index == 1 {
                LO_UP.store(f & IFF_UP != 0, Ordering::Relaxed);
            } else {
                let up = f & IFF_UP != 0;
                if up != stack.config().link_up {
                    stack
                        .configure(caller, Configure::LinkUp(up))
                        .map_err(super::errno)?;
                }
            }
            return Ok(0);
        }
        SIOCSIFADDR | SIOCSIFNETMASK | SIOCSIFBRDADDR | SIOCSIFMTU => {
            need_configure()?;
            if i.index == 1 || cmd == SIOCSIFBRDADDR || cmd == SIOCSIFMTU {
                // lo's address, broadcast addresses and MTUs are fixed here: say so
                // rather than pretend the change happened.
                return Err(Errno::EOPNOTSUPP);
            }
            let ip = ip_of(&req[16..32])?;
            let cur = stack.config().address;
            let change = if cmd == SIOCSIFADDR {
                if ip.is_unspecified() {
                    Configure::Address(None)
                } else {
                    // Linux gives a new address its class's netmask until told otherwise.
                    let classful = match ip.octets()[0] {
                        0..=127 => 8,
                        128..=191 => 16,
                        _ => 24,
                    };
                    Configure::Address(Some((ip, cur.map_or(classful, |c| c.1))))
                }
            } else {
                let (a, _) = cur.ok_or(Errno::EADDRNOTAVAIL)?;
                Configure::Address(Some((a, prefix_of(ip)?)))
            };
            configure(change)?;
            return Ok(0);
        }
        _ => return Err(Errno::ENOTTY),
    }
    mem.write(arg, &req)?;
    Ok(0)
}

fn hex_ip(ip: Ipv4Addr) -> String {
    // /proc/net prints addresses as the little-endian u32 of network-order bytes.
    format!("{:08X}", u32::from_le_bytes(ip.octets()))
}

/// /proc/net/dev.
pub fn proc_net_dev(stack: &NetStack) -> String {
    let st = stack.stats();
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    let lo = st.link.loopback_frames;
    let _ = writeln!(
        s,
        "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
        "lo", 0, lo, 0, 0, 0, 0, 0, 0, 0, lo, 0, 0, 0, 0, 0, 0
    );
    if DEVICE.lock().is_some() {
        let l = st.link;
        let _ = writeln!(
            s,
            "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            "eth0", l.rx_bytes, l.rx_frames, 0, l.rx_dropped, 0, 0, 0, 0, l.tx_bytes, l.tx_frames, 0, l.tx_dropped, 0, 0, 0, 0
        );
    }
    s
}

/// /proc/net/route (eth0's subnet and default route).
pub fn proc_net_route(stack: &NetStack) -> String {
    let mut s = String::from(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
    );
    if DEVICE.lock().is_none() {
        return s;
    }
    let cfg = stack.config();
    if let Some(gw) = cfg.gateway {
        let _ = writeln!(
            s,
            "eth0\t00000000\t{}\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            hex_ip(gw)
        );
    }
    if let Some((a, p)) = cfg.address {
        let m = mask_of(p);
        let net = Ipv4Addr::from(u32::from(a) & u32::from(m));
        let _ = writeln!(
            s,
            "eth0\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0",
            hex_ip(net),
            hex_ip(m)
        );
    }
    s
}

fn proc_sockets(stack: &NetStack, kind: netobj::stack::EndpointKind, header: &str) -> String {
    let mut s = String::from(header);
    for (n, i) in stack
        .sockets()
        .iter()
        .filter(|i| i.kind == kind)
        .enumerate()
    {
        let remote = i
            .remote
            .unwrap_or(core::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let _ = writeln!(
            s,
            "{:>4}: {}:{:04X} {}:{:04X} {:02X} {:08X}:{:08X} 00:00000000 00000000     0        0 {} 1 0000000000000000 100 0 0 10 0",
            n,
            hex_ip(*i.local.ip()),
            i.local.port(),
            hex_ip(*remote.ip()),
            remote.port(),
            i.state,
            i.tx_queue,
            i.rx_queue,
            i.id
        );
    }
    s
}

/// /proc/net/tcp.
pub fn proc_net_tcp(stack: &NetStack) -> String {
    proc_sockets(
        stack,
        netobj::stack::EndpointKind::Tcp,
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    )
}

/// /proc/net/udp.
pub fn proc_net_udp(stack: &NetStack) -> String {
    proc_sockets(
        stack,
        netobj::stack::EndpointKind::Udp,
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
    )
}

/// /proc/sys/net/ipv4/ping_group_range: every group may make ping sockets on Writ (the
/// ICMP_ECHO right is kept when a process drops root), which Linux spells "0 2147483647".
pub fn ping_group_range() -> String {
    String::from("0\t2147483647\n")
}

/// /proc/net/icmp: the ping sockets (local port is the ident).
pub fn proc_net_icmp(stack: &NetStack) -> String {
    proc_sockets(
        stack,
        netobj::stack::EndpointKind::Icmp,
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
    )
}

/// /proc/net/tcp6: no IPv6 on Writ yet, so only the header (as Linux with no sockets).
pub fn proc_net_tcp6() -> String {
    String::from("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
}

/// /proc/net/udp6: header only (no IPv6).
pub fn proc_net_udp6() -> String {
    String::from("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")
}

/// /proc/net/if_inet6: empty (no IPv6 addresses).
pub fn proc_net_if_inet6() -> String {
    String::new()
}
