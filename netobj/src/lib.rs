//! netobj: Writ's network objects — TCP, UDP, ICMP (ping), raw ICMP and packet endpoints
//! backed by smoltcp over a [`NetDevice`].
//!
//! How the parts fit:
//!
//! - [`device`]: the [`NetDevice`] trait a driver implements, and the link adapter that puts
//!   it under smoltcp together with a loopback path (127.0.0.0/8 and the stack's own
//!   address never reach the wire).
//! - [`stack`]: [`NetStack`], one smoltcp interface and socket set; its invocations create
//!   endpoints, each gated by a [`NetRights`] right of the caller ([`Caller`]), configure
//!   addresses and routes, and report stats. `poll(now)` runs it; `poll_at(now)` says when
//!   it must run next (no fixed tick; time always comes from the caller).
//! - One module per endpoint type: [`tcp`] (a type per state: init, connecting, connected,
//!   listening), [`udp`], [`icmp`] (Linux ping sockets), [`raw`], [`packet`]. Each module
//!   doc lists its operations and the errors they return.
//! - Every error is a [`NetError`], one variant per Linux errno ([`NetError::errno`]);
//!   readiness is [`Readiness`] with Linux's poll bits; options are [`SockOpt`].
//!
//! The socket semantics know nothing about capabilities beyond rights bits: whoever holds
//! a `NetStack` passes the invoking capability's rights and identity in as a [`Caller`].
//! `capobj` (feature `caps`, on by default) makes the NetStack and the endpoints
//! `caps::ObjectType`s, checking the NetStack rights in decode. Dropping the last handle of an
//! endpoint closes it the way Linux's close() does (FIN, or RST if unread data is
//! discarded) and frees its port or ident; [`NetStack::revoke`] kills every endpoint made
//! through one capability.
//!
//! Every operation is nonblocking. A blocking call is the kernel's loop: try, and on
//! EAGAIN / EINPROGRESS / EALREADY sleep on the endpoint's waker ([`Readiness`] gained a
//! bit) and try again — exactly how Linux's own blocking connect ends with the second
//! connect() returning 0 or the error. The kernel calls [`NetStack::poll`] on device
//! interrupts and when [`NetStack::poll_at`] comes due, and after operations that queue
//! data (poll_at then says "now"). The stack's lock is a spin lock: do not poll from an
//! interrupt handler that may interrupt a holder.
//!
//! Where this departs from plain smoltcp, and why (each in its module): one interface
//! carries the device and loopback, the link routing local frames back (one socket set,
//! so 0.0.0.0 listeners hear both); the interface runs with Linux's loopback MTU (64 KiB)
//! and the link clamps the MSS of SYNs on the device path (`mss`); a listener is a
//! refilled pool of smoltcp sockets (a LISTEN socket becomes its connection); SYNs to a
//! full backlog are dropped like Linux, not refused, except that a backlog full of
//! half-open connections drops its oldest one instead (SYN floods; Linux has SYN
//! cookies); half-open connections time out after 63 s; a connect to a host that never answers ARP fails with EHOSTUNREACH
//! (`neighbors`) and one a router answers with ICMP unreachable fails with its errno
//! (a stack-wide ICMP sink, as smoltcp routes no ICMP errors to TCP); smoltcp's timeout
//! is armed only while data waits for an ACK or keepalive runs, and a connection it
//! gives up on reports ETIMEDOUT; a watchdog re-sends a FIN that smoltcp 0.14 forgets
//! after a fast retransmit (`finwatch`). smoltcp itself is the vendored 0.14.0 in
//! `third_party/smoltcp` with one fix: its window-scale rounding can move the receive
//! window's right edge a few bytes left, and it then ignored a peer's pure ACKs sent at
//! the old edge, which deadlocked bidirectional transfers with Linux at a zero window
//! (see that directory's README.WRIT.md); its checksum loop is also patched to add
//! eight bytes per step (same result, much faster under emulation).
//!
//! Not yet: IP fragmentation (datagrams larger than the path MTU fail with EMSGSIZE,
//! received fragments are dropped), IPv6, out-of-band data, SO_LINGER.
//!
//! Semantics follow Linux at the errno level because Alpine's programs drive these
//! objects through the Linux personality; tests compare against a second stack on an
//! in-memory wire and against Linux itself over a TAP device.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
extern crate alloc;

#[cfg(feature = "caps")]
pub mod capobj;
mod core;
mod datagram;
pub mod device;
pub mod error;
mod finwatch;
pub mod icmp;
pub mod info;
mod mss;
mod neighbors;
pub mod offload;
pub mod options;
pub mod packet;
mod ports;
pub mod raw;
pub mod readiness;
pub mod rights;
pub mod stack;
pub mod tcp;
pub mod udp;

pub use crate::core::set_contention_hook;
pub use crate::datagram::{internet_checksum, Received};
pub use crate::device::{LinkStats, NetDevice};
pub use crate::error::{NetError, NetResult};
pub use crate::icmp::IcmpEndpoint;
pub use crate::info::SocketInfo;
pub use crate::options::SockOpt;
pub use crate::packet::{PacketEndpoint, PacketReceived, ETH_P_IP};
pub use crate::ports::EPHEMERAL_PORTS;
pub use crate::raw::RawEndpoint;
pub use crate::readiness::Readiness;
pub use crate::rights::{Caller, NetRights};
pub use crate::stack::{check_create, Configure, EndpointKind, NetStack, StackConfig, Stats};
pub use crate::tcp::{Shutdown, TcpEndpoint};
pub use crate::udp::UdpEndpoint;
pub use smoltcp::time::{Duration, Instant};
