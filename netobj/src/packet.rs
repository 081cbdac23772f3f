//! Packet endpoints (AF_PACKET, SOCK_DGRAM, ETH_P_IP): what udhcpc needs to talk DHCP
//! before the interface has an address.
//!
//! Receives are the IPv4 packets arriving on the device (Ethernet header stripped) with
//! the sender's hardware address; sends take an IPv4 packet and a destination hardware
//! address and go straight to the device, past smoltcp. Creating one needs PACKET
//! (else EPERM).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::task::Waker;

use crate::core::{Handle, Kind};
use crate::datagram::copy_into;
use crate::device::Captured;
use crate::error::{NetError, NetResult};
use crate::options::RMEM_MAX;
use crate::readiness::Readiness;

/// ETH_P_IP, the only protocol packet endpoints carry.
pub const ETH_P_IP: u16 = 0x0800;

/// One packet as recvfrom(2) on an AF_PACKET socket reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketReceived {
    /// Bytes copied.
    pub copied: usize,
    /// Full packet length (MSG_TRUNC when larger than `copied`).
    pub len: usize,
    /// sll_addr of the sender.
    pub src_mac: [u8; 6],
}

pub(crate) struct PacketSock {
    queue: VecDeque<(Vec<u8>, [u8; 6])>,
    queued: usize,
}

impl PacketSock {
    pub fn new() -> PacketSock {
        PacketSock {
            queue: VecDeque::new(),
            queued: 0,
        }
    }

    pub fn deliver(&mut self, c: &Captured) {
        if self.queued + c.packet.len() <= 2 * RMEM_MAX as usize {
            self.queued += c.packet.len();
            self.queue.push_back((c.packet.clone(), c.src_mac));
        }
    }

    pub fn row(&self) -> crate::info::Row {
        crate::info::Row {
            state: 0,
            local: crate::info::UNBOUND,
            remote: None,
            rx_queue: self.queued,
            tx_queue: 0,
        }
    }

    pub fn refresh(&mut self) -> Readiness {
        if self.queue.is_empty() {
            Readiness::WRITABLE
        } else {
            Readiness::WRITABLE | Readiness::READABLE
        }
    }
}

/// An AF_PACKET endpoint. Dropping it is close().
pub struct PacketEndpoint {
    handle: Handle,
}

impl PacketEndpoint {
    pub(crate) fn new(handle: Handle) -> PacketEndpoint {
        PacketEndpoint { handle }
    }

    /// sendto(2) with a sockaddr_ll naming `dst_mac`: `packet` is a whole IPv4 packet.
    pub fn send_to(&self, packet: &[u8], dst_mac: [u8; 6]) -> NetResult<usize> {
        self.handle.with(|env, kind, _| {
            if !matches!(kind, Kind::Packet(_)) {
                return Err(NetError::Invalid);
            }
            if packet.len() > env.link.mtu() {
                return Err(NetError::MsgSize);
            }
            if env.link.send_packet(dst_mac, packet) {
                Ok(packet.len())
            } else {
                Err(NetError::NoBufs)
            }
        })
    }

    /// recvfrom(2): the next IPv4 packet received on the device.
    pub fn recv_from(&self, buf: &mut [u8], peek: bool) -> NetResult<PacketReceived> {
        self.handle.with(|_, kind, _| {
            let Kind::Packet(p) = kind else {
                return Err(NetError::Invalid);
            };
            let (pkt, mac) = p.queue.front().ok_or(NetError::WouldBlock)?;
            let r = PacketReceived {
                copied: copy_into(buf, pkt),
                len: pkt.len(),
                src_mac: *mac,
            };
            if !peek {
                p.queued -= r.len;
                p.queue.pop_front();
            }
            Ok(r)
        })
    }

    /// poll(2) bits.
    pub fn readiness(&self) -> Readiness {
        self.handle.readiness()
    }

    /// The waker woken when readiness gains a bit.
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
