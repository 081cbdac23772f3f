//! Host tests of the socket layer over a loopback NetStack: the FakeKernel's process
//! holds a NetStack cap with every right, and blocking calls run the stack while they
//! wait (the loopback peer lives in the same test).

use std::vec::Vec;

use crate::abi::nr;
use crate::abi::Errno::{self, *};
use crate::fs::test_kernel::FakeKernel;
use crate::net::*;

const LO: [u8; 4] = [127, 0, 0, 1];

fn sin(k: &mut FakeKernel, ip: [u8; 4], port: u16) -> u64 {
    let a = k.alloc(16);
    let mut b = [0u8; 16];
    b[0..2].copy_from_slice(&AF_INET.to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    k.mem.write(a, &b).unwrap();
    a
}

fn sun(k: &mut FakeKernel, path: &str) -> (u64, u64) {
    let a = k.alloc(110);
    let mut b = Vec::new();
    b.extend_from_slice(&AF_UNIX.to_le_bytes());
    b.extend_from_slice(path.as_bytes());
    b.push(0);
    k.mem.write(a, &b).unwrap();
    (a, b.len() as u64)
}

fn socket(k: &mut FakeKernel, d: u16, t: u32, p: u32) -> Result<u64, Errno> {
    k.sys(nr::SOCKET, &[u64::from(d), u64::from(t), u64::from(p)])
}

fn local_port(k: &mut FakeKernel, fd: u64) -> u16 {
    let a = k.alloc(16);
    let l = k.alloc(4);
    k.mem.write(l, &16u32.to_le_bytes()).unwrap();
    k.sys(nr::GETSOCKNAME, &[fd, a, l]).unwrap();
    let mut b = [0u8; 16];
    k.mem.read(a, &mut b).unwrap();
    u16::from_be_bytes([b[2], b[3]])
}

fn name_of(k: &mut FakeKernel, fd: u64, call: usize) -> Result<[u8; 16], Errno> {
    let a = k.alloc(16);
    let l = k.alloc(4);
    k.mem.write(l, &16u32.to_le_bytes()).unwrap();
    k.sys(call, &[fd, a, l])?;
    let mut b = [0u8; 16];
    k.mem.read(a, &mut b).unwrap();
    Ok(b)
}

fn send(k: &mut FakeKernel, fd: u64, data: &[u8]) -> Result<u64, Errno> {
    let b = k.alloc(data.len() as u64);
    k.mem.write(b, data).unwrap();
    k.sys(nr::SENDTO, &[fd, b, data.len() as u64, 0, 0, 0])
}

fn recv(k: &mut FakeKernel, fd: u64, len: u64, flags: u64) -> Result<Vec<u8>, Errno> {
    let b = k.alloc(len);
    let n = k.sys(nr::RECVFROM, &[fd, b, len, flags, 0, 0])?;
    let mut v = std::vec![0u8; n as usize];
    k.mem.read(b, &mut v).unwrap();
    Ok(v)
}

fn sockopt(k: &mut FakeKernel, fd: u64, level: u64, name: u64) -> Result<i32, Errno> {
    let v = k.alloc(4);
    let l = k.alloc(4);
    k.mem.write(l, &4u32.to_le_bytes()).unwrap();
    k.sys(nr::GETSOCKOPT, &[fd, level, name, v, l])?;
    let mut b = [0u8; 4];
    k.mem.read(v, &mut b).unwrap();
    Ok(i32::from_le_bytes(b))
}

fn poll1(k: &mut FakeKernel, fd: u64, events: u16) -> u16 {
    let p = k.alloc(8);
    let mut b = [0u8; 8];
    b[0..4].copy_from_slice(&(fd as i32).to_le_bytes());
    b[4..6].copy_from_slice(&events.to_le_bytes());
    k.mem.write(p, &b).unwrap();
    k.sys(nr::POLL, &[p, 1, 0]).unwrap();
    k.mem.read(p, &mut b).unwrap();
    u16::from_le_bytes([b[6], b[7]])
}

/// A listener on 127.0.0.1 at an ephemeral port: (fd, port).
fn listener(k: &mut FakeKernel) -> (u64, u16) {
    let l = socket(k, AF_INET, SOCK_STREAM, 0).unwrap();
    let a = sin(k, LO, 0);
    k.sys(nr::BIND, &[l, a, 16]).unwrap();
    k.sys(nr::LISTEN, &[l, 8]).unwrap();
    let port = local_port(k, l);
    (l, port)
}

#[test]
fn tcp_connect_accept_echo_and_fin() {
    let mut k = FakeKernel::with_net();
    let (l, port) = listener(&mut k);
    assert_ne!(port, 0);
    let c = socket(&mut k, AF_INET, SOCK_STREAM, 0).unwrap();
    let a = sin(&mut k, LO, port);
    assert_eq!(k.sys(nr::CONNECT, &[c, a, 16]), Ok(0));
    let s = k.sys(nr::ACCEPT4, &[l, 0, 0, 0]).unwrap();
    assert_eq!(send(&mut k, c, b"hello"), Ok(5));
    assert_eq!(recv(&mut k, s, 100, 0).unwrap(), b"hello");
    // write/read through the generic fd calls work on sockets too.
    assert_eq!(k.write(s, b"back"), Ok(4));
    assert_eq!(k.read(c, 100).unwrap(), b"back");
    // getpeername on the accepted socket names the client's port.
    let peer = name_of(&mut k, s, nr::GETPEERNAME).unwrap();
    assert_eq!(
        u16::from_be_bytes([peer[2], peer[3]]),
        local_port(&mut k, c)
    );
    assert_eq!(&peer[4..8], &LO);
    // FIN: the reader sees end of file and POLLIN|POLLRDHUP.
    k.sys(nr::CLOSE, &[c]).unwrap();
    k.net_kick_for_test();
    let ev = poll1(
        &mut k,
        s,
        crate::file::poll::POLLIN | crate::file::poll::POLLRDHUP,
    );
    assert_eq!(
        ev & (crate::file::poll::POLLIN | crate::file::poll::POLLRDHUP),
        crate::file::poll::POLLIN | crate::file::poll::POLLRDHUP
    );
    assert_eq!(recv(&mut k, s, 100, 0).unwrap(), b"");
}

#[test]
fn nonblocking_connect_lifecycle_and_refused() {
    let mut k = FakeKernel::with_net();
    let (l, port) = listener(&mut k);
    let c = socket(&mut k, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let a = sin(&mut k, LO, port);
    let r = k.sys(nr::CONNECT, &[c, a, 16]);
    assert!(r == Err(EINPROGRESS) || r == Ok(0), "{r:?}");
    let ev = poll1(&mut k, c, crate::file::poll::POLLOUT);
    assert_ne!(ev & crate::file::poll::POLLOUT, 0);
    assert_eq!(sockopt(&mut k, c, 1, 4), Ok(0)); // SO_ERROR
    if r == Err(EINPROGRESS) {
        assert_eq!(k.sys(nr::CONNECT, &[c, a, 16]), Ok(0));
    }
    assert_eq!(k.sys(nr::CONNECT, &[c, a, 16]), Err(EISCONN));
    // One connection is waiting; then a nonblocking listener has none (EAGAIN).
    assert!(k.sys(nr::ACCEPT4, &[l, 0, 0, 0]).is_ok());
    k.sys(
        nr::FCNTL,
        &[l, 4, u64::from(crate::file::flags::O_NONBLOCK)],
    )
    .unwrap();
    assert_eq!(k.sys(nr::ACCEPT4, &[l, 0, 0, 0]), Err(EAGAIN));
    // A closed port: EINPROGRESS, then SO_ERROR = ECONNREFUSED once, then 0.
    k.sys(nr::CLOSE, &[l]).unwrap();
    let d = socket(&mut k, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let r = k.sys(nr::CONNECT, &[d, a, 16]);
    if r == Err(EINPROGRESS) {
        poll1(&mut k, d, crate::file::poll::POLLOUT);
        assert_eq!(sockopt(&mut k, d, 1, 4), Ok(ECONNREFUSED.code()));
        assert_eq!(sockopt(&mut k, d, 1, 4), Ok(0));
    } else {
        assert_eq!(r, Err(ECONNREFUSED));
    }
    // A blocking connect to the closed port fails outright.
    let e = socket(&mut k, AF_INET, SOCK_STREAM, 0).unwrap();
    assert_eq!(k.sys(nr::CONNECT, &[e, a, 16]), Err(ECONNREFUSED));
}

#[test]
fn udp_sendto_recvfrom_and_connected_name() {
    let mut k = FakeKernel::with_net();
    let u = socket(&mut k, AF_INET, SOCK_DGRAM, 0).unwrap();
    let a = sin(&mut k, LO, 0);
    k.sys(nr::BIND, &[u, a, 16]).unwrap();
    let port = local_port(&mut k, u);
    let v = socket(&mut k, AF_INET, SOCK_DGRAM, 0).unwrap();
    let to = sin(&mut k, LO, port);
    let b = k.alloc(3);
    k.mem.write(b, b"abc").unwrap();
    assert_eq!(k.sys(nr::SENDTO, &[v, b, 3, 0, to, 16]), Ok(3));
    // recvfrom names the sender; MSG_TRUNC reports the full length.
    let buf = k.alloc(8);
    let from = k.alloc(16);
    let fl = k.alloc(4);
    k.mem.write(fl, &16u32.to_le_bytes()).unwrap();
    assert_eq!(k.sys(nr::RECVFROM, &[u, buf, 2, 0x20, from, fl]), Ok(3));
    let mut f = [0u8; 16];
    k.mem.read(from, &mut f).unwrap();
    assert_eq!(u16::from_be_bytes([f[2], f[3]]), local_port(&mut k, v));
    // An unbound UDP socket connected to loopback reports 127.0.0.1 as its name.
    let w = socket(&mut k, AF_INET, SOCK_DGRAM, 0).unwrap();
    k.sys(nr::CONNECT, &[w, to, 16]).unwrap();
    let name = name_of(&mut k, w, nr::GETSOCKNAME).unwrap();
    assert_eq!(&name[4..8], &LO);
    assert_ne!(u16::from_be_bytes([name[2], name[3]]), 0);
    // Nothing queued: MSG_DONTWAIT is EAGAIN.
    assert_eq!(recv(&mut k, u, 8, 0x40), Err(EAGAIN));
}

#[test]
fn so_rcvtimeo_gives_eagain_after_the_timeout() {
    let mut k = FakeKernel::with_net();
    let u = socket(&mut k, AF_INET, SOCK_DGRAM, 0).unwrap();
    let a = sin(&mut k, LO, 0);
    k.sys(nr::BIND, &[u, a, 16]).unwrap();
    let tv = k.alloc(16);
    let mut b = [0u8; 16];
    b[8..].copy_from_slice(&200_000i64.to_le_bytes());
    k.mem.write(tv, &b).unwrap();
    k.sys(nr::SETSOCKOPT, &[u, 1, 20, tv, 16]).unwrap();
    let t0 = k.net_ms;
    assert_eq!(recv(&mut k, u, 8, 0), Err(EAGAIN));
    assert!(k.net_ms - t0 >= 200);
    // read(2) honours it too.
    let t1 = k.net_ms;
    assert_eq!(k.read(u, 8), Err(EAGAIN));
    assert!(k.net_ms - t1 >= 200);
}

#[test]
fn ping_socket_ident_and_non_echo() {
    let mut k = FakeKernel::with_net();
    let p = socket(&mut k, AF_INET, SOCK_DGRAM, IPPROTO_ICMP).unwrap();
    let to = sin(&mut k, LO, 0);
    let mut echo = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'x', b'y'];
    let b = k.alloc(10);
    k.mem.write(b, &echo).unwrap();
    assert_eq!(k.sys(nr::SENDTO, &[p, b, 10, 0, to, 16]), Ok(10));
    let ident = local_port(&mut k, p);
    assert_ne!(ident, 0);
    let reply = recv(&mut k, p, 64, 0).unwrap();
    assert_eq!(reply[0], 0, "an echo reply");
    assert_eq!(u16::from_be_bytes([reply[4], reply[5]]), ident);
    assert_eq!(&reply[8..], b"xy");
    echo[0] = 13; // timestamp request
    k.mem.write(b, &echo).unwrap();
    assert_eq!(k.sys(nr::SENDTO, &[p, b, 10, 0, to, 16]), Err(EINVAL));
    assert_eq!(sockopt(&mut k, p, 1, 3), Ok(SOCK_DGRAM as i32));
}

#[test]
fn families_and_types() {
    let mut k = FakeKernel::with_net();
    assert_eq!(socket(&mut k, AF_INET6, SOCK_STREAM, 0), Err(EAFNOSUPPORT));
    assert_eq!(socket(&mut k, 99, SOCK_STREAM, 0), Err(EAFNOSUPPORT));
    assert_eq!(
        socket(&mut k, AF_INET, SOCK_STREAM, 17),
        Err(EPROTONOSUPPORT)
    );
    // Not a socket.
    let fd = k
        .open(
            "/f",
            crate::file::flags::O_CREAT | crate::file::flags::O_RDWR,
            0o644,
        )
        .unwrap();
    assert_eq!(k.sys(nr::LISTEN, &[fd, 1]), Err(ENOTSOCK));
    assert_eq!(k.sys(nr::LISTEN, &[77, 1]), Err(EBADF));
    // SOCK_CLOEXEC and SOCK_NONBLOCK land on the descriptor / open file.
    let s = socket(
        &mut k,
        AF_INET,
        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
        0,
    )
    .unwrap();
    assert_eq!(k.sys(nr::FCNTL, &[s, 1, 0]), Ok(1));
    assert_eq!(
        k.sys(nr::FCNTL, &[s, 3, 0]).unwrap() & u64::from(crate::file::flags::O_NONBLOCK),
        u64::from(crate::file::flags::O_NONBLOCK)
    );
    // O_NONBLOCK is shared by dup'd descriptors: set on one, seen on the other.
    let t = socket(&mut k, AF_INET, SOCK_STREAM, 0).unwrap();
    let t2 = k.sys(nr::DUP, &[t]).unwrap();
    k.sys(
        nr::FCNTL,
        &[t, 4, u64::from(crate::file::flags::O_NONBLOCK)],
    )
    .unwrap();
    assert_ne!(
        k.sys(nr::FCNTL, &[t2, 3, 0]).unwrap() & u64::from(crate::file::flags::O_NONBLOCK),
        0
    );
    assert_eq!(recv(&mut k, t2, 4, 0), Err(ENOTCONN));
}

#[test]
fn unix_socketpair_stream_and_dgram() {
    let mut k = FakeKernel::with_net();
    let sv = k.alloc(8);
    k.sys(
        nr::SOCKETPAIR,
        &[u64::from(AF_UNIX), u64::from(SOCK_STREAM), 0, sv],
    )
    .unwrap();
    let mut b = [0u8; 8];
    k.mem.read(sv, &mut b).unwrap();
    let (a, c) = (
        u64::from(u32::from_le_bytes(b[..4].try_into().unwrap())),
        u64::from(u32::from_le_bytes(b[4..].try_into().unwrap())),
    );
    assert_eq!(k.write(a, b"one"), Ok(3));
    assert_eq!(k.write(a, b"two"), Ok(3));
    assert_eq!(k.read(c, 100).unwrap(), b"onetwo");
    k.sys(nr::CLOSE, &[a]).unwrap();
    assert_eq!(k.read(c, 100).unwrap(), b"");
    assert_eq!(k.sys(nr::SENDTO, &[c, sv, 1, 0x4000, 0, 0]), Err(EPIPE));
    // Datagram pairs keep message edges.
    k.sys(
        nr::SOCKETPAIR,
        &[u64::from(AF_UNIX), u64::from(SOCK_DGRAM), 0, sv],
    )
    .unwrap();
    k.mem.read(sv, &mut b).unwrap();
    let (a, c) = (
        u64::from(u32::from_le_bytes(b[..4].try_into().unwrap())),
        u64::from(u32::from_le_bytes(b[4..].try_into().unwrap())),
    );
    assert_eq!(k.write(a, b"one"), Ok(3));
    assert_eq!(k.write(a, b"two"), Ok(3));
    assert_eq!(k.read(c, 100).unwrap(), b"one");
    assert_eq!(k.read(c, 100).unwrap(), b"two");
    assert_eq!(
        k.sys(
            nr::SOCKETPAIR,
            &[u64::from(AF_INET), u64::from(SOCK_STREAM), 0, sv]
        ),
        Err(EOPNOTSUPP)
    );
}

#[test]
fn unix_paths_bind_connect_accept() {
    let mut k = FakeKernel::with_net();
    let (missing, ml) = sun(&mut k, "/nope");
    let c = socket(&mut k, AF_UNIX, SOCK_STREAM, 0).unwrap();
    assert_eq!(k.sys(nr::CONNECT, &[c, missing, ml]), Err(ENOENT));
    // A file that is not a socket, and a socket file nobody listens on.
    k.create("/plain", b"");
    let (plain, pl) = sun(&mut k, "/plain");
    assert_eq!(k.sys(nr::CONNECT, &[c, plain, pl]), Err(ECONNREFUSED));
    let srv = socket(&mut k, AF_UNIX, SOCK_STREAM, 0).unwrap();
    let (path, len) = sun(&mut k, "/sock");
    k.sys(nr::BIND, &[srv, path, len]).unwrap();
    assert_eq!(k.stat("/sock").unwrap().st_mode & 0o170000, 0o140000);
    assert_eq!(k.sys(nr::CONNECT, &[c, path, len]), Err(ECONNREFUSED));
    let again = socket(&mut k, AF_UNIX, SOCK_STREAM, 0).unwrap();
    assert_eq!(k.sys(nr::BIND, &[again, path, len]), Err(EADDRINUSE));
    k.sys(nr::LISTEN, &[srv, 4]).unwrap();
    assert_eq!(k.sys(nr::CONNECT, &[c, path, len]), Ok(0));
    let s = k.sys(nr::ACCEPT, &[srv, 0, 0]).unwrap();
    assert_eq!(k.write(c, b"ping"), Ok(4));
    assert_eq!(k.read(s, 10).unwrap(), b"ping");
    // Datagram to a bound path (syslog's shape).
    let log = socket(&mut k, AF_UNIX, SOCK_DGRAM, 0).unwrap();
    let (lp, ll) = sun(&mut k, "/log");
    k.sys(nr::BIND, &[log, lp, ll]).unwrap();
    let cl = socket(&mut k, AF_UNIX, SOCK_DGRAM, 0).unwrap();
    k.sys(nr::CONNECT, &[cl, lp, ll]).unwrap();
    assert_eq!(k.write(cl, b"<13>hi"), Ok(6));
    assert_eq!(k.read(log, 100).unwrap(), b"<13>hi");
}

#[test]
fn rights_missing_give_eperm_and_eacces() {
    let mut k = FakeKernel::with_net();
    // Root: raw socket and privileged port.
    let r = socket(&mut k, AF_INET, SOCK_RAW, IPPROTO_ICMP).unwrap();
    k.sys(nr::CLOSE, &[r]).unwrap();
    // Drop to a user: the NetStack cap is replaced by a derived one.
    k.sys(nr::SETRESUID, &[1000, 1000, 1000]).unwrap();
    assert_eq!(socket(&mut k, AF_INET, SOCK_RAW, IPPROTO_ICMP), Err(EPERM));
    assert_eq!(socket(&mut k, AF_PACKET, SOCK_DGRAM, 8), Err(EPERM));
    let p = socket(&mut k, AF_INET, SOCK_DGRAM, IPPROTO_ICMP).unwrap();
    k.sys(nr::CLOSE, &[p]).unwrap();
    let t = socket(&mut k, AF_INET, SOCK_STREAM, 0).unwrap();
    let a = sin(&mut k, [0; 4], 80);
    assert_eq!(k.sys(nr::BIND, &[t, a, 16]), Err(EACCES));
    let a = sin(&mut k, [0; 4], 8080);
    assert_eq!(k.sys(nr::BIND, &[t, a, 16]), Ok(0));
    // Interface configuration needs CONFIGURE.
    let req = k.alloc(40);
    let mut r = [0u8; 40];
    r[..2].copy_from_slice(b"lo");
    r[16..18].copy_from_slice(&1u16.to_le_bytes());
    k.mem.write(req, &r).unwrap();
    assert_eq!(
        k.sys(nr::IOCTL, &[t, u64::from(ifconf::SIOCSIFFLAGS), req]),
        Err(EPERM)
    );
    assert_eq!(
        k.sys(nr::IOCTL, &[t, u64::from(ifconf::SIOCGIFFLAGS), req]),
        Ok(0)
    );
    let mut back = [0u8; 40];
    k.mem.read(req, &mut back).unwrap();
    let fl = u16::from_le_bytes([back[16], back[17]]);
    assert_eq!(
        fl & (ifconf::IFF_UP | ifconf::IFF_LOOPBACK),
        ifconf::IFF_UP | ifconf::IFF_LOOPBACK
    );
}

#[test]
fn revoking_the_netstack_cap_kills_its_sockets() {
    let mut k = FakeKernel::with_net();
    // Give the process a badged cap, as a derived one is.
    k.sys(nr::SETRESUID, &[1000, 1000, 1000]).unwrap();
    let (l, port) = listener(&mut k);
    let c = socket(&mut k, AF_INET, SOCK_STREAM, 0).unwrap();
    let a = sin(&mut k, LO, port);
    k.sys(nr::CONNECT, &[c, a, 16]).unwrap();
    let s = k.sys(nr::ACCEPT, &[l, 0, 0]).unwrap();
    let badge = {
        let (sys, t) = k.caps_mut();
        let slot = t.authority_slot(sys, crate::fd::AUTH_NETSTACK).unwrap();
        sys.cap_at(slot).unwrap().badge
    };
    assert_ne!(badge, 0);
    // netobj's own revocation by origin badge (the kernel revokes through the CDT
    // instead; see socket_caps_are_made_by_the_netstack_cap_and_revoking_it_resets_them),
    // then the cap's deletion.
    let killed = k.net.as_ref().unwrap().revoke(badge);
    assert!(killed >= 3, "killed {killed}");
    {
        let (sys, t) = k.caps_mut();
        let slot = t.authority_slot(sys, crate::fd::AUTH_NETSTACK).unwrap();
        sys.delete(slot).unwrap();
    }
    // The capability system is consistent after the revocation.
    {
        let (sys, _) = k.caps_mut();
        assert!(sys.check().is_empty(), "{:?}", sys.check());
    }
    assert_eq!(send(&mut k, c, b"x"), Err(ENETDOWN));
    assert_eq!(recv(&mut k, s, 4, 0x40), Err(ENETDOWN));
    // And no new sockets: the cap is gone.
    assert!(socket(&mut k, AF_INET, SOCK_STREAM, 0).is_err());
    // AF_UNIX needs no NetStack.
    assert!(socket(&mut k, AF_UNIX, SOCK_STREAM, 0).is_ok());
}

#[test]
fn socket_caps_are_made_by_the_netstack_cap_and_revoking_it_resets_them() {
    let mut k = FakeKernel::with_net();
    let (l, port) = listener(&mut k);
    let c = socket(&mut k, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let a = sin(&mut k, LO, port);
    let _ = k.sys(nr::CONNECT, &[c, a, 16]);
    k.net_kick_for_test();
    let s = k.sys(nr::ACCEPT, &[l, 0, 0]).unwrap();
    let u = socket(&mut k, AF_INET, SOCK_DGRAM, IPPROTO_ICMP).unwrap();
    let (held, ns) = {
        let (sys, t) = k.caps_mut();
        let ns = t.authority_slot(sys, crate::fd::AUTH_NETSTACK).unwrap();
        // The descriptor slots hold the endpoints, made by the NetStack cap; the
        // accepted connection is made by the listener's.
        for (fd, ty) in [(l, "tcp"), (c, "tcp"), (u, "icmp")] {
            let (slot, cap) = t.cap(sys, fd as i64).unwrap();
            assert_eq!(sys.type_name(&cap), Some(ty));
            assert_eq!(sys.cdt_parent(slot), Some(ns), "fd {fd}");
            assert!(sys.is_made(slot));
        }
        let (ls, _) = t.cap(sys, l as i64).unwrap();
        let (ss, _) = t.cap(sys, s as i64).unwrap();
        assert_eq!(sys.cdt_parent(ss), Some(ls));
        // The fd CNode copy lent to the Create invocation is gone again.
        let d = t.authority_slot(sys, crate::fd::AUTH_FD_CNODE).unwrap();
        assert!(sys.cap_at(d).is_none());
        // A thread in a call on the connection holds its open file.
        (t.get(sys, s as i64, caps::Rights::empty()).unwrap(), ns)
    };
    // SOCK_NONBLOCK reached the open file the invocation made.
    assert_eq!(k.sys(nr::FCNTL, &[c, 3, 0]).unwrap() & 0o4000, 0o4000);
    {
        let (sys, _) = k.caps_mut();
        sys.revoke(ns).unwrap();
        assert!(sys.check().is_empty(), "{:?}", sys.check());
        assert!(sys.cap_at(ns).is_some(), "revoke keeps the cap itself");
    }
    // Every socket descriptor is gone; the held connection was reset, not closed.
    for fd in [l, c, s, u] {
        assert_eq!(send(&mut k, fd, b"x"), Err(EBADF));
    }
    let mut buf = [0u8; 4];
    assert_eq!(held.ops.read(0, &mut buf), Err(ENETDOWN));
    // The cap itself stays: new sockets can be made through it.
    assert!(socket(&mut k, AF_INET, SOCK_STREAM, 0).is_ok());
}

#[test]
fn a_missing_right_fails_the_create_invocation_with_linux_errno() {
    let mut k = FakeKernel::with_net();
    k.sys(nr::SETRESUID, &[1000, 1000, 1000]).unwrap();
    assert_eq!(socket(&mut k, AF_INET, SOCK_RAW, IPPROTO_ICMP), Err(EPERM));
    assert_eq!(socket(&mut k, AF_PACKET, SOCK_DGRAM, 0x0008), Err(EPERM));
    let fd = socket(&mut k, AF_INET, SOCK_DGRAM, IPPROTO_ICMP).unwrap();
    assert_eq!(fd, 0, "the failed attempts left no descriptor behind");
    let (sys, _) = k.caps_mut();
    assert!(sys.check().is_empty());
}

#[test]
fn interface_ioctls_for_loopback() {
    let mut k = FakeKernel::with_net();
    let s = socket(&mut k, AF_INET, SOCK_DGRAM, 0).unwrap();
    let conf = k.alloc(16);
    let buf = k.alloc(40 * 4);
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&160i32.to_le_bytes());
    h[8..16].copy_from_slice(&buf.to_le_bytes());
    k.mem.write(conf, &h).unwrap();
    k.sys(nr::IOCTL, &[s, u64::from(ifconf::SIOCGIFCONF), conf])
        .unwrap();
    k.mem.read(conf, &mut h).unwrap();
    assert_eq!(i32::from_le_bytes(h[0..4].try_into().unwrap()), 40);
    let mut r = [0u8; 40];
    k.mem.read(buf, &mut r).unwrap();
    assert_eq!(&r[..3], b"lo\0");
    assert_eq!(&r[20..24], &LO);
    k.mem.write(buf, &r).unwrap();
    k.sys(nr::IOCTL, &[s, u64::from(ifconf::SIOCGIFINDEX), buf])
        .unwrap();
    k.mem.read(buf, &mut r).unwrap();
    assert_eq!(u32::from_le_bytes(r[16..20].try_into().unwrap()), 1);
    k.sys(nr::IOCTL, &[s, u64::from(ifconf::SIOCGIFNETMASK), buf])
        .unwrap();
    k.mem.read(buf, &mut r).unwrap();
    assert_eq!(&r[20..24], &[255, 0, 0, 0]);
    r[..16].fill(0);
    r[..4].copy_from_slice(b"eth9");
    k.mem.write(buf, &r).unwrap();
    assert_eq!(
        k.sys(nr::IOCTL, &[s, u64::from(ifconf::SIOCGIFFLAGS), buf]),
        Err(ENODEV)
    );
}

#[test]
fn netlink_route_dumps_and_configuration_rights() {
    let mut k = FakeKernel::with_net();
    let n = socket(&mut k, AF_NETLINK, SOCK_RAW, 0).unwrap();
    let nl = k.alloc(12);
    let mut a = [0u8; 12];
    a[..2].copy_from_slice(&AF_NETLINK.to_le_bytes());
    k.mem.write(nl, &a).unwrap();
    k.sys(nr::BIND, &[n, nl, 12]).unwrap();
    // RTM_GETADDR dump.
    let mut req = std::vec![0u8; 24];
    req[0..4].copy_from_slice(&24u32.to_le_bytes());
    req[4..6].copy_from_slice(&22u16.to_le_bytes());
    req[6..8].copy_from_slice(&(0x300u16 | 1).to_le_bytes());
    req[8..12].copy_from_slice(&7u32.to_le_bytes());
    req[16] = 2;
    assert_eq!(send(&mut k, n, &req), Ok(24));
    let m = recv(&mut k, n, 4096, 0).unwrap();
    assert_eq!(u16::from_le_bytes([m[4], m[5]]), 20, "RTM_NEWADDR");
    assert_eq!(
        u32::from_le_bytes(m[8..12].try_into().unwrap()),
        7,
        "the request's seq"
    );
    assert_eq!(
        u32::from_le_bytes(m[12..16].try_into().unwrap()),
        1,
        "our port id"
    );
    assert_eq!(m[17], 8, "prefix /8");
    assert!(m.windows(4).any(|w| w == LO));
    let done = recv(&mut k, n, 4096, 0).unwrap();
    assert_eq!(u16::from_le_bytes([done[4], done[5]]), 3, "NLMSG_DONE");
    // RTM_NEWROUTE as a user without CONFIGURE: NLMSG_ERROR with -EPERM.
    k.sys(nr::SETRESUID, &[1000, 1000, 1000]).unwrap();
    let u = socket(&mut k, AF_NETLINK, SOCK_RAW, 0).unwrap();
    let mut r = std::vec![0u8; 36];
    r[0..4].copy_from_slice(&28u32.to_le_bytes());
    r[4..6].copy_from_slice(&24u16.to_le_bytes());
    r[6..8].copy_from_slice(&(1u16 | 4 | 0x400 | 0x200).to_le_bytes());
    r[16] = 2;
    r[20..22].copy_from_slice(&8u16.to_le_bytes());
    r[22..24].copy_from_slice(&5u16.to_le_bytes());
    r[24..28].copy_from_slice(&[10, 0, 0, 1]);
    assert_eq!(send(&mut k, u, &r[..28]), Ok(28));
    let e = recv(&mut k, u, 4096, 0).unwrap();
    assert_eq!(u16::from_le_bytes([e[4], e[5]]), 2, "NLMSG_ERROR");
    assert_eq!(
        i32::from_le_bytes(e[16..20].try_into().unwrap()),
        -1,
        "-EPERM"
    );
}

#[test]
fn recvmsg_names_the_sender_and_reports_ttl_for_local_replies() {
    let mut k = FakeKernel::with_net();
    let p = socket(&mut k, AF_INET, SOCK_DGRAM, IPPROTO_ICMP).unwrap();
    let on = k.alloc(4);
    k.mem.write(on, &1i32.to_le_bytes()).unwrap();
    k.sys(nr::SETSOCKOPT, &[p, 0, 12, on, 4]).unwrap(); // IP_RECVTTL
    let to = sin(&mut k, LO, 0);
    let echo = [8u8, 0, 0, 0, 0, 0, 0, 1];
    let b = k.alloc(8);
    k.mem.write(b, &echo).unwrap();
    k.sys(nr::SENDTO, &[p, b, 8, 0, to, 16]).unwrap();
    let (buf, name, ctl, iov, msg) = (
        k.alloc(64),
        k.alloc(16),
        k.alloc(64),
        k.alloc(16),
        k.alloc(56),
    );
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&buf.to_le_bytes());
    v[8..].copy_from_slice(&64u64.to_le_bytes());
    k.mem.write(iov, &v).unwrap();
    let mut m = [0u8; 56];
    m[0..8].copy_from_slice(&name.to_le_bytes());
    m[8..12].copy_from_slice(&16u32.to_le_bytes());
    m[16..24].copy_from_slice(&iov.to_le_bytes());
    m[24..32].copy_from_slice(&1u64.to_le_bytes());
    m[32..40].copy_from_slice(&ctl.to_le_bytes());
    m[40..48].copy_from_slice(&64u64.to_le_bytes());
    k.mem.write(msg, &m).unwrap();
    assert_eq!(k.sys(nr::RECVMSG, &[p, msg, 0]), Ok(8));
    k.mem.read(msg, &mut m).unwrap();
    assert_eq!(u32::from_le_bytes(m[8..12].try_into().unwrap()), 16);
    assert_eq!(u64::from_le_bytes(m[40..48].try_into().unwrap()), 24);
    let mut n = [0u8; 16];
    k.mem.read(name, &mut n).unwrap();
    assert_eq!(&n[4..8], &LO);
    let mut c = [0u8; 24];
    k.mem.read(ctl, &mut c).unwrap();
    assert_eq!(
        i32::from_le_bytes(c[12..16].try_into().unwrap()),
        2,
        "IP_TTL"
    );
    assert_eq!(i32::from_le_bytes(c[16..20].try_into().unwrap()), 64);
}

#[test]
fn proc_net_texts() {
    let mut k = FakeKernel::with_net();
    let (_l, port) = listener(&mut k);
    let stack = stack_of(&mut k).unwrap();
    let tcp = ifconf::proc_net_tcp(&stack);
    // 127.0.0.1 is 0100007F in /proc's little-endian hex; LISTEN is state 0A.
    assert!(
        tcp.contains(&std::format!("0100007F:{port:04X} 00000000:0000 0A")),
        "{tcp}"
    );
    assert!(ifconf::proc_net_dev(&stack).contains("    lo:"));
    assert!(ifconf::proc_net_route(&stack).starts_with("Iface\tDestination"));
    assert_eq!(ifconf::ping_group_range(), "0\t2147483647\n");
}

#[test]
fn packet_and_ipproto_raw_sockets_for_dhcp_clients() {
    let mut k = FakeKernel::with_net();
    // udhcpc's ioctl socket: IPPROTO_RAW; it never receives and cannot send raw IP.
    let r = socket(&mut k, AF_INET, SOCK_RAW, IPPROTO_RAW).unwrap();
    assert_eq!(recv(&mut k, r, 8, 0x40), Err(EAGAIN));
    assert_eq!(send(&mut k, r, b"x"), Err(EOPNOTSUPP));
    // AF_PACKET / SOCK_DGRAM / ETH_P_IP, bound with a sockaddr_ll.
    let p = socket(
        &mut k,
        AF_PACKET,
        SOCK_DGRAM,
        u32::from(0x0800u16.swap_bytes()),
    )
    .unwrap();
    assert_eq!(
        socket(
            &mut k,
            AF_PACKET,
            SOCK_RAW,
            u32::from(0x0800u16.swap_bytes())
        ),
        Err(ESOCKTNOSUPPORT)
    );
    assert_eq!(
        socket(&mut k, AF_PACKET, SOCK_DGRAM, 0x0608),
        Err(EPROTONOSUPPORT)
    );
    let ll = k.alloc(20);
    let mut b = [0u8; 20];
    b[..2].copy_from_slice(&AF_PACKET.to_le_bytes());
    b[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
    b[4..8].copy_from_slice(&2i32.to_le_bytes());
    k.mem.write(ll, &b).unwrap();
    assert_eq!(k.sys(nr::BIND, &[p, ll, 20]), Ok(0));
    b[4..8].copy_from_slice(&9i32.to_le_bytes());
    k.mem.write(ll, &b).unwrap();
    assert_eq!(k.sys(nr::BIND, &[p, ll, 20]), Err(ENODEV));
    assert_eq!(recv(&mut k, p, 64, 0x40), Err(EAGAIN));
    // A datagram over any datagram limit is EMSGSIZE before anything is copied.
    let u = socket(&mut k, AF_INET, SOCK_DGRAM, 0).unwrap();
    let to = sin(&mut k, LO, 9);
    assert_eq!(
        k.sys(nr::SENDTO, &[u, super::tests::BIGBUF, 1 << 20, 0, to, 16]),
        Err(EMSGSIZE)
    );
}

const BIGBUF: u64 = crate::fs::test_kernel::BASE;
