//! AF_NETLINK / NETLINK_ROUTE, enough for busybox `ip addr`, `ip link` and `ip route`
//! (show, add, del): link, address and route dumps built from the NetStack's
//! configuration ([`super::ifconf::interfaces`], `NetStack::config`), and
//! RTM_NEWADDR/DELADDR and RTM_NEWROUTE/DELROUTE (default route only) turned into
//! `NetStack::configure` with the rights of the NetStack cap the socket was made through
//! (EPERM without CONFIGURE, reported in an NLMSG_ERROR as Linux does).
//!
//! A request is answered synchronously: sendmsg queues the replies and recvmsg reads them
//! one datagram at a time. Multicast groups are accepted at bind but never receive
//! anything (no events are generated).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use netobj::{Caller, Configure, NetRights, NetStack};
use spin::Mutex;

use super::ifconf::{interfaces, mask_of, IFF_UP};
use super::{Received, SockAddr};
use crate::abi::Errno;
use crate::file::poll;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;
const NLM_F_MULTI: u16 = 2;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const AF_INET: u8 = 2;
const RT_TABLE_MAIN: u8 = 254;
/// Bytes of unread replies a socket may hold (Linux's default rmem).
const QUEUE_LIMIT: usize = 212_992;

/// A NETLINK_ROUTE socket.
pub struct NetlinkSock {
    stack: NetStack,
    rights: NetRights,
    /// The port id autobind gives (the creating process's pid).
    auto_pid: u32,
    st: Mutex<State>,
}

struct State {
    pid: u32,
    groups: u32,
    queue: VecDeque<Vec<u8>>,
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink message.
struct Msg(Vec<u8>);

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> Msg {
        let mut v = Vec::with_capacity(128);
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(&flags.to_le_bytes());
        v.extend_from_slice(&seq.to_le_bytes());
        v.extend_from_slice(&pid.to_le_bytes());
        Msg(v)
    }
    fn raw(mut self, b: &[u8]) -> Msg {
        self.0.extend_from_slice(b);
        self
    }
    fn attr(mut self, ty: u16, data: &[u8]) -> Msg {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_le_bytes());
        self.0.extend_from_slice(&ty.to_le_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align(self.0.len()), 0);
        self
    }
    fn done(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[0..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// The attributes of a request after its fixed header of `fixed` bytes.
fn attrs(body: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = fixed;
    while at + 4 <= body.len() {
        let len = usize::from(u16::from_le_bytes([body[at], body[at + 1]]));
        let ty = u16::from_le_bytes([body[at + 2], body[at + 3]]) & 0x3fff;
        if len < 4 || at + len > body.len() {
            break;
        }
        out.push((ty, &body[at + 4..at + len]));
        at += align(len);
    }
    out
}

fn ip4(b: &[u8]) -> Option<Ipv4Addr> {
    (b.len() >= 4).then(|| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

impl NetlinkSock {
    pub fn new(stack: NetStack, rights: NetRights, auto_pid: u32) -> NetlinkSock {
        NetlinkSock {
            stack,
            rights,
            auto_pid,
            st: Mutex::new(State {
                pid: 0,
                groups: 0,
                queue: VecDeque::new(),
            }),
        }
    }

    /// bind(2): `pid` 0 asks for the caller's (Linux gives the first socket the tgid).
    pub fn bind(&self, pid: u32, groups: u32) {
        let mut st = self.st.lock();
        st.pid = if pid == 0 { self.auto_pid } else { pid };
        st.groups = groups;
    }

    pub fn name(&self) -> SockAddr {
        let st = self.st.lock();
        SockAddr::Netlink {
            pid: st.pid,
            groups: st.groups,
        }
    }

    pub fn poll(&self) -> u16 {
        let mut ev = poll::POLLOUT | 0x100;
        if !self.st.lock().queue.is_empty() {
            ev |= poll::POLLIN | 0x40;
        }
        ev
    }

    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<Received, Errno> {
        let mut st = self.st.lock();
        let m = st.queue.front().ok_or(Errno::EAGAIN)?;
        let n = m.len().min(buf.len());
        buf[..n].copy_from_slice(&m[..n]);
        let len = m.len();
        if !peek {
            st.queue.pop_front();
        }
        Ok(Received {
            copied: n,
            len,
            from: Some(SockAddr::Netlink { pid: 0, groups: 0 }),
        })
    }

    /// sendmsg(2): handle every request in `data`, queueing the answers.
    pub fn send(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut at = 0;
        let mut replies = Vec::new();
        {
            let mut st = self.st.lock();
            // Replies nobody reads must not pile up without bound (Linux: the receive
            // buffer overflows and the socket reports ENOBUFS).
            if st.queue.iter().map(Vec::len).sum::<usize>() > QUEUE_LIMIT {
                return Err(Errno::ENOBUFS);
            }
            if st.pid == 0 {
                st.pid = self.auto_pid;
            }
        }
        let pid = self.st.lock().pid;
        while at + 16 <= data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            if len < 16 || at + len > data.len() {
                break;
            }
            let msg = &data[at..at + len];
            self.request(msg, pid, &mut replies);
            at += align(len);
        }
        self.st.lock().queue.extend(replies);
        Ok(data.len())
    }

    fn request(&self, msg: &[u8], pid: u32, out: &mut Vec<Vec<u8>>) {
        let ty = u16::from_le_bytes([msg[4], msg[5]]);
        let flags = u16::from_le_bytes([msg[6], msg[7]]);
        let seq = u32::from_le_bytes(msg[8..12].try_into().unwrap());
        let body = &msg[16..];
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let result: Result<(), Errno> = match ty {
            RTM_GETLINK if dump => {
                self.dump_links(seq, pid, out);
                return;
            }
            RTM_GETADDR if dump => {
                self.dump_addrs(seq, pid, out);
                return;
            }
            RTM_GETROUTE if dump => {
                self.dump_routes(seq, pid, out);
                return;
            }
            RTM_NEWADDR | RTM_DELADDR => self.change_addr(ty == RTM_NEWADDR, body),
            RTM_NEWROUTE | RTM_DELROUTE => self.change_route(ty == RTM_NEWROUTE, body),
            _ => Err(Errno::EOPNOTSUPP),
        };
        let code: i32 = match result {
            Ok(()) if flags & NLM_F_ACK == 0 => return,
            Ok(()) => 0,
            Err(e) => -e.code(),
        };
        // NLMSG_ERROR carries the errno and the request's header.
        out.push(
            Msg::new(NLMSG_ERROR, 0, seq, pid)
                .raw(&code.to_le_bytes())
                .raw(&msg[..16])
                .done(),
        );
    }

    fn done(seq: u32, pid: u32) -> Vec<u8> {
        Msg::new(NLMSG_DONE, NLM_F_MULTI, seq, pid)
            .raw(&0i32.to_le_bytes())
            .done()
    }

    fn dump_links(&self, seq: u32, pid: u32, out: &mut Vec<Vec<u8>>) {
        for i in interfaces(&self.stack) {
            let mut hdr = [0u8; 16];
            hdr[2..4].copy_from_slice(&i.hwtype.to_le_bytes());
            hdr[4..8].copy_from_slice(&(i.index as i32).to_le_bytes());
            // IFF_LOWER_UP (0x10000) accompanies a running interface, as on Linux.
            let lower_up = if i.flags & super::ifconf::IFF_RUNNING != 0 {
                0x10000
            } else {
                0
            };
            hdr[8..12].copy_from_slice(&(u32::from(i.flags) | lower_up).to_le_bytes());
            let brd = if i.index == 1 { [0u8; 6] } else { [0xff; 6] };
            let oper: u8 = if i.flags & IFF_UP != 0 {
                if i.index == 1 {
                    0 // IF_OPER_UNKNOWN, as Linux reports lo
                } else {
                    6 // IF_OPER_UP
                }
            } else {
                2 // IF_OPER_DOWN
            };
            out.push(
                Msg::new(RTM_NEWLINK, NLM_F_MULTI, seq, pid)
                    .raw(&hdr)
                    .attr(3, &cstr(i.name))
                    .attr(13, &1000u32.to_le_bytes())
                    .attr(16, &[oper])
                    .attr(4, &i.mtu.to_le_bytes())
                    .attr(
                        6,
                        &cstr(if i.index == 1 {
                            "noqueue"
                        } else {
                            "pfifo_fast"
                        }),
                    )
                    .attr(1, &i.mac)
                    .attr(2, &brd)
                    .done(),
            );
        }
        out.push(Self::done(seq, pid));
    }

    fn dump_addrs(&self, seq: u32, pid: u32, out: &mut Vec<Vec<u8>>) {
        for i in interfaces(&self.stack) {
            let Some((a, p)) = i.addr else { continue };
            let scope: u8 = if i.index == 1 { 254 } else { 0 };
            let hdr = [AF_INET, p, 0x80, scope];
            let mut m = Msg::new(RTM_NEWADDR, NLM_F_MULTI, seq, pid)
                .raw(&hdr)
                .raw(&i.index.to_le_bytes())
                .attr(1, &a.octets())
                .attr(2, &a.octets());
            if i.index != 1 {
                let brd = Ipv4Addr::from(u32::from(a) | !u32::from(mask_of(p)));
                m = m.attr(4, &brd.octets());
            }
            out.push(m.attr(3, &cstr(i.name)).done());
        }
        out.push(Self::done(seq, pid));
    }

    fn dump_routes(&self, seq: u32, pid: u32, out: &mut Vec<Vec<u8>>) {
        let ifs = interfaces(&self.stack);
        if let Some(eth) = ifs.iter().find(|i| i.index == 2) {
            let cfg = self.stack.config();
            // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
            if let Some(gw) = cfg.gateway {
                let hdr = [AF_INET, 0, 0, 0, RT_TABLE_MAIN, 3, 0, 1];
                out.push(
                    Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, pid)
                        .raw(&hdr)
                        .raw(&0u32.to_le_bytes())
                        .attr(15, &u32::from(RT_TABLE_MAIN).to_le_bytes())
                        .attr(5, &gw.octets())
                        .attr(4, &eth.index.to_le_bytes())
                        .done(),
                );
            }
            if let Some((a, p)) = eth.addr {
                let net = Ipv4Addr::from(u32::from(a) & u32::from(mask_of(p)));
                let hdr = [AF_INET, p, 0, 0, RT_TABLE_MAIN, 2, 253, 1];
                out.push(
                    Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, pid)
                        .raw(&hdr)
                        .raw(&0u32.to_le_bytes())
                        .attr(15, &u32::from(RT_TABLE_MAIN).to_le_bytes())
                        .attr(1, &net.octets())
                        .attr(7, &a.octets())
                        .attr(4, &eth.index.to_le_bytes())
                        .done(),
                );
            }
        }
        out.push(Self::done(seq, pid));
    }

    fn caller(&self) -> Result<Caller, Errno> {
        if !self.rights.contains(NetRights::CONFIGURE) {
            return Err(Errno::EPERM);
        }
        Ok(Caller {
            rights: self.rights,
            origin: 0,
        })
    }

    fn change_addr(&self, add: bool, body: &[u8]) -> Result<(), Errno> {
        if body.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let caller = self.caller()?;
        let prefix = body[1];
        let index = u32::from_le_bytes(body[4..8].try_into().unwrap());
        let at = attrs(body, 8);
        let addr = at
            .iter()
            .find(|(t, _)| *t == 2)
            .or_else(|| at.iter().find(|(t, _)| *t == 1))
            .and_then(|(_, v)| ip4(v))
            .ok_or(Errno::EINVAL)?;
        if body[0] != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        if index != 2 || prefix > 32 {
            // lo's address is fixed; there is no other interface.
            return Err(if index == 1 {
                Errno::EEXIST
            } else {
                Errno::ENODEV
            });
        }
        let cur = self.stack.config().address;
        let change = if add {
            if cur.is_some_and(|(a, _)| a == addr) {
                return Err(Errno::EEXIST);
            }
            Configure::Address(Some((addr, prefix)))
        } else {
            if cur.is_none_or(|(a, _)| a != addr) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            Configure::Address(None)
        };
        self.stack.configure(caller, change).map_err(super::errno)
    }

    fn change_route(&self, add: bool, body: &[u8]) -> Result<(), Errno> {
        if body.len() < 12 {
            return Err(Errno::EINVAL);
        }
        let caller = self.caller()?;
        if body[0] != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        if body[1] != 0 {
            // Only the default route is a route of its own here.
            return Err(Errno::EOPNOTSUPP);
        }
        let gw = attrs(body, 12)
            .iter()
            .find(|(t, _)| *t == 5)
            .and_then(|(_, v)| ip4(v));
        let cur = self.stack.config().gateway;
        let change = if add {
            if cur.is_some() {
                return Err(Errno::EEXIST);
            }
            Configure::Gateway(Some(gw.ok_or(Errno::EINVAL)?))
        } else {
            if cur.is_none() {
                return Err(Errno::ESRCH);
            }
            Configure::Gateway(None)
        };
        self.stack.configure(caller, change).map_err(super::errno)
    }
}
