//! A watchdog for smoltcp 0.14's lost-FIN stall.
//!
//! smoltcp 0.14 stops its retransmission timer when a fast retransmit fires while only
//! the FIN is unacknowledged (its transmit buffer is empty, so nothing is resent and the
//! timer is left idle). Such a connection sits in FIN-WAIT-1, CLOSING or LAST-ACK
//! forever and the peer never sees end-of-stream; the stack-to-stack lossy-link test
//! found it. Until smoltcp fixes it, the link remembers the last FIN segment each
//! connection sent, and this watchdog re-sends it when the connection has made no
//! progress for a retransmission timeout (1 s, doubling, as RTO backoff would). A
//! duplicate FIN is harmless to any TCP, so the watchdog cannot hurt a healthy
//! connection; it just rarely has anything to do.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::State;
use smoltcp::socket::Socket;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpAddress;

use crate::device::{FinKey, Link};

const FIRST_RTO: Duration = Duration::from_secs(1);
const MAX_TRIES: u32 = 8;

struct Watch {
    key: FinKey,
    due: Instant,
    tries: u32,
}

#[derive(Default)]
pub(crate) struct FinWatch {
    watched: BTreeMap<SocketHandle, Watch>,
}

impl FinWatch {
    /// Check every connection with a FIN outstanding and nothing else to send.
    pub fn check(&mut self, now: Instant, sockets: &SocketSet<'_>, link: &mut Link) {
        if link.tx.fin_frames.is_empty() && self.watched.is_empty() {
            return;
        }
        let mut live = BTreeMap::new();
        let mut closing = Vec::new();
        for (h, s) in sockets.iter() {
            let Socket::Tcp(t) = s else { continue };
            if !matches!(t.state(), State::FinWait1 | State::Closing | State::LastAck) {
                continue;
            }
            let (Some(l), Some(r)) = (t.local_endpoint(), t.remote_endpoint()) else {
                continue;
            };
            let (IpAddress::Ipv4(ra), IpAddress::Ipv4(_)) = (r.addr, l.addr);
            let key = (l.port, ra, r.port);
            closing.push(key);
            // Only a FIN alone in flight can stall; data in flight keeps the timer alive.
            if t.send_queue() == 0 {
                live.insert(h, key);
            }
        }
        self.watched.retain(|h, w| live.get(h) == Some(&w.key));
        for (h, key) in &live {
            let w = self.watched.entry(*h).or_insert(Watch {
                key: *key,
                due: now + FIRST_RTO,
                tries: 0,
            });
            if now >= w.due && w.tries < MAX_TRIES {
                link.resend_fin(key);
                w.tries += 1;
                w.due = now + FIRST_RTO * (1 << w.tries.min(6));
            }
        }
        link.tx.fin_frames.retain(|k, _| closing.contains(k));
    }

    /// The earliest instant the watchdog needs a poll.
    pub fn poll_at(&self) -> Option<Instant> {
        self.watched
            .values()
            .filter(|w| w.tries < MAX_TRIES)
            .map(|w| w.due)
            .min()
    }
}

/// The same FIN segment without its payload (sequence number advanced past it), because
/// smoltcp's receiver ignores a FIN riding on data it already has.
pub(crate) fn bare_fin(frame: &[u8]) -> Option<Vec<u8>> {
    let ip = frame.get(14..)?;
    let ihl = usize::from(*ip.first()? & 0x0f) * 4;
    if ihl < 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let tcp = ip.get(ihl..total)?;
    let doff = usize::from(*tcp.get(12)? >> 4) * 4;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    let payload = (tcp.len() - doff) as u32;
    let mut out = frame.get(..14 + ihl + doff)?.to_vec();
    let (eth_ip, seg) = out.split_at_mut(14 + ihl);
    let iph = &mut eth_ip[14..];
    iph[2..4].copy_from_slice(&((ihl + doff) as u16).to_be_bytes());
    iph[10..12].copy_from_slice(&[0, 0]);
    let sum = crate::datagram::internet_checksum(iph);
    iph[10..12].copy_from_slice(&sum.to_be_bytes());
    let seq = u32::from_be_bytes([seg[4], seg[5], seg[6], seg[7]]).wrapping_add(payload);
    seg[4..8].copy_from_slice(&seq.to_be_bytes());
    seg[16..18].copy_from_slice(&[0, 0]);
    let mut pseudo = Vec::with_capacity(12 + seg.len());
    pseudo.extend_from_slice(&iph[12..20]);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(seg);
    let sum = crate::datagram::internet_checksum(&pseudo);
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
    Some(out)
}
