//! `net` and `socks`: the network stack as the console shows it, written against
//! netobj's public API only (`NetStack::config`, `stats`, `sockets`), so it works with
//! whichever kernel module owns the stack.
//!
//! [`stack`] is the one place that finds the kernel's NetStack (`crate::net`).

use alloc::string::String;
use core::fmt::Write;

use netobj::info::linux_state;
use netobj::stack::{EndpointKind, NetStack};

/// The kernel's NetStack, if it has one.
pub fn stack() -> Option<NetStack> {
    crate::net::stack().cloned()
}

/// Interfaces, addresses, the route, MTU and device counters.
pub fn net_text(st: &NetStack) -> String {
    let cfg = st.config();
    let stats = st.stats();
    let mut s = String::new();
    let addr = match stats.address {
        Some((a, p)) => alloc::format!("{a}/{p}"),
        None => "none".into(),
    };
    let _ = writeln!(s, "eth0: address {addr} mtu {}", stats.mtu);
    let _ = writeln!(
        s,
        "lo:   address 127.0.0.1/8 (loopback path of the same interface)"
    );
    let _ = writeln!(s, "routes:");
    let _ = writeln!(s, "  127.0.0.0/8 via lo");
    if let Some((a, p)) = stats.address {
        let _ = writeln!(s, "  {}/{p} dev eth0", network(a, p));
    }
    match stats.gateway {
        Some(g) => {
            let _ = writeln!(s, "  default via {g} dev eth0");
        }
        None => {
            let _ = writeln!(s, "  (no default route)");
        }
    }
    let l = stats.link;
    let _ = writeln!(
        s,
        "device: rx {} frames {} bytes ({} dropped), tx {} frames {} bytes ({} dropped), loopback {} frames",
        l.rx_frames, l.rx_bytes, l.rx_dropped, l.tx_frames, l.tx_bytes, l.tx_dropped, l.loopback_frames
    );
    let _ = writeln!(
        s,
        "endpoints {} sockets {} closing {}; tcp buffers {} B, datagram buffers {} B",
        stats.endpoints,
        stats.sockets,
        stats.orphans,
        cfg.tcp_buffer_size,
        cfg.datagram_buffer_size
    );
    s
}

fn network(a: core::net::Ipv4Addr, prefix: u8) -> core::net::Ipv4Addr {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    core::net::Ipv4Addr::from(u32::from(a) & mask)
}

/// Every live endpoint's id with its protocol (what revoke and delete compare).
pub fn endpoint_ids(st: &NetStack) -> alloc::vec::Vec<(u64, &'static str)> {
    st.sockets()
        .into_iter()
        .filter(|i| i.id != 0)
        .map(|i| (i.id, proto(i.kind)))
        .collect()
}

fn proto(kind: EndpointKind) -> &'static str {
    match kind {
        EndpointKind::Tcp => "tcp",
        EndpointKind::Udp => "udp",
        EndpointKind::Icmp => "icmp",
        EndpointKind::Raw => "raw",
        EndpointKind::Packet => "packet",
    }
}

fn state_name(kind: EndpointKind, st: u8) -> &'static str {
    use linux_state::*;
    if kind != EndpointKind::Tcp {
        return if st == ESTABLISHED { "connected" } else { "-" };
    }
    match st {
        ESTABLISHED => "ESTABLISHED",
        SYN_SENT => "SYN_SENT",
        SYN_RECV => "SYN_RECV",
        FIN_WAIT1 => "FIN_WAIT1",
        FIN_WAIT2 => "FIN_WAIT2",
        TIME_WAIT => "TIME_WAIT",
        CLOSE => "CLOSE",
        CLOSE_WAIT => "CLOSE_WAIT",
        LAST_ACK => "LAST_ACK",
        LISTEN => "LISTEN",
        CLOSING => "CLOSING",
        _ => "?",
    }
}

/// Every endpoint, with who holds it (`owner` names an endpoint id by the slots
/// holding its capability and the capability that made it).
pub fn socks_text(st: &NetStack, owner: &dyn Fn(u64) -> String) -> String {
    let mut socks = st.sockets();
    socks.sort_by_key(|i| (i.id == 0, i.id));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>5} {:<6} {:<21} {:<21} {:<12} {:>7} {:>7}  HELD BY",
        "ID", "PROTO", "LOCAL", "REMOTE", "STATE", "RECV-Q", "SEND-Q"
    );
    for i in &socks {
        let proto = proto(i.kind);
        // A ping socket's port is its ICMP ident.
        let local = if i.kind == EndpointKind::Icmp {
            alloc::format!("{} ident {}", i.local.ip(), i.local.port())
        } else {
            alloc::format!("{}", i.local)
        };
        let remote = i
            .remote
            .map_or_else(|| "*".into(), |r| alloc::format!("{r}"));
        let via = if i.id == 0 {
            "(closed, winding down)".into()
        } else {
            owner(i.id)
        };
        let _ = writeln!(
            s,
            "{:>5} {proto:<6} {local:<21} {remote:<21} {:<12} {:>7} {:>7}  {via}",
            i.id,
            state_name(i.kind, i.state),
            i.rx_queue,
            i.tx_queue
        );
    }
    if socks.is_empty() {
        let _ = writeln!(s, "(no endpoints)");
    }
    s
}
