//! The device boundary: [`NetDevice`], which the kernel's virtio-net driver (and the tests'
//! in-memory wire and TAP device) implement, and the link adapter that puts it, plus a
//! loopback path, under smoltcp.
//!
//! One smoltcp `Interface` (Ethernet medium) carries both the device address and
//! 127.0.0.1/8. The adapter decides per transmitted frame where it goes: frames for a
//! loopback or own address (and ARP requests for them) are queued back to the receive
//! side instead of reaching the wire, which is what Linux's `lo` achieves. One socket set
//! then serves both paths, so a socket listening on 0.0.0.0 is reachable on either.
//!
//! On the receive side the adapter also does the few things smoltcp cannot: it drops
//! martians from the wire (127/8 source or destination), drops SYNs to listeners whose
//! backlog is full (Linux drops them so the client retries, rather than refusing), tells
//! the stack when a SYN arrived so listening pools are refilled before the next one, and
//! copies IPv4 packets for AF_PACKET endpoints.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// A network device: the only thing the stack needs from a driver.
///
/// Implementations must never block; `receive` returns `None` when nothing is pending and
/// `transmit` may drop a frame (returning `false`) when its queue is full.
pub trait NetDevice: Send {
    /// The device's Ethernet address.
    fn mac_address(&self) -> [u8; 6];
    /// The largest IP packet one frame carries (Ethernet payload size), e.g. 1500.
    fn mtu(&self) -> usize;
    /// The longest Ethernet frame `receive` can return: `mtu() + 14`, unless the device
    /// coalesces received segments (virtio-net's receive offloads: up to a 64 KiB IP
    /// packet per frame).
    fn max_frame(&self) -> usize {
        self.mtu() + 14
    }
    /// Copy the next received Ethernet frame into `buf` (at least `max_frame()` bytes)
    /// and return its length, or `None` if nothing is pending.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Send one Ethernet frame; `false` if it was dropped.
    fn transmit(&mut self, frame: &[u8]) -> bool;
    /// Whether `transmit` can take a frame now.
    fn can_transmit(&self) -> bool {
        true
    }
}

/// Counters of the link, reported by `NetStack::stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames received from the device.
    pub rx_frames: u64,
    /// Bytes received from the device.
    pub rx_bytes: u64,
    /// Frames sent to the device.
    pub tx_frames: u64,
    /// Bytes sent to the device.
    pub tx_bytes: u64,
    /// Frames that went around the loopback path.
    pub loopback_frames: u64,
    /// Received frames dropped before smoltcp (martians, SYNs to a full backlog).
    pub rx_dropped: u64,
    /// Frames the device refused or the loopback queue had no room for.
    pub tx_dropped: u64,
}

/// An IPv4 packet copied for AF_PACKET endpoints, with the sender's Ethernet address.
pub(crate) struct Captured {
    pub src_mac: [u8; 6],
    pub packet: Vec<u8>,
}

/// The IP MTU of the loopback path (Linux's `lo`), which the interface runs with.
pub(crate) const LOOPBACK_MTU: usize = 65_535;

/// Frames waiting in the loopback queue beyond this are dropped, as a full `lo` would.
const LOOPBACK_QUEUE_MAX: usize = 8192;
/// Captured packets waiting for distribution beyond this are dropped.
const CAPTURE_QUEUE_MAX: usize = 1024;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;

/// A TCP connection as seen in its frames: (local port, remote address, remote port).
pub(crate) type FinKey = (u16, Ipv4Addr, u16);

pub(crate) struct TxSide {
    pub dev: alloc::boxed::Box<dyn NetDevice>,
    /// The last FIN segment each connection sent to the device (see `finwatch`).
    pub fin_frames: BTreeMap<FinKey, Vec<u8>>,
    /// Connections this stack reset during the current poll. A connected smoltcp socket
    /// sends RST only when it aborts itself on a timeout, which is how a connection's
    /// ETIMEDOUT is told apart from a peer's reset (ECONNRESET). Cleared every poll.
    pub rst_sent: BTreeSet<FinKey>,
    /// ARP requests without answers (see `neighbors`).
    pub arp: crate::neighbors::ArpWatch,
    /// The time of the poll in progress (the link has no clock of its own).
    pub now: Instant,
    buf: Vec<u8>,
    pub loopback: VecDeque<Vec<u8>>,
    pub local_ip: Option<Ipv4Addr>,
    pub stats: LinkStats,
    /// The device's MTU (the interface runs with the loopback MTU; see `mss`).
    dev_mtu: usize,
    /// The device is administratively up (IFF_UP). Down, nothing goes to or comes
    /// from the wire; loopback traffic still flows.
    pub wire_up: bool,
}

impl TxSide {
    fn is_local(&self, ip: Ipv4Addr) -> bool {
        ip.is_loopback() || Some(ip) == self.local_ip
    }

    /// Route one finished frame: back to ourselves or out to the device.
    fn emit(&mut self, len: usize) {
        let frame = &self.buf[..len];
        if let Some(key) = tcp_key_with_flag(frame, 0x04) {
            self.rst_sent.insert(key);
        }
        let local = match ethertype(frame) {
            Some(ETHERTYPE_IPV4) => ipv4_dst(&frame[14..]).is_some_and(|d| self.is_local(d)),
            Some(ETHERTYPE_ARP) => arp_target(&frame[14..]).is_some_and(|t| self.is_local(t)),
            _ => false,
        };
        if local {
            if self.loopback.len() < LOOPBACK_QUEUE_MAX {
                self.loopback.push_back(frame.to_vec());
                self.stats.loopback_frames += 1;
            } else {
                self.stats.tx_dropped += 1;
            }
        } else if !self.wire_up {
            self.stats.tx_dropped += 1;
        } else if len > self.dev_mtu + 14 {
            // The endpoints refuse datagrams the device cannot carry; this is a backstop.
            self.stats.tx_dropped += 1;
        } else {
            self.transmit_to_device(len);
        }
    }

    fn transmit_to_device(&mut self, len: usize) {
        crate::mss::clamp_mss(&mut self.buf[..len], (self.dev_mtu - 40) as u16);
        let frame = &self.buf[..len];
        if !self.dev.transmit(frame) {
            self.stats.tx_dropped += 1;
            return;
        }
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += len as u64;
        if ethertype(frame) == Some(ETHERTYPE_ARP) && arp_op(&frame[14..]) == Some(1) {
            if let Some(t) = arp_target(&frame[14..]) {
                self.arp.requested(t, self.now);
            }
        }
        if let Some(key) = tcp_key_with_flag(frame, 0x01) {
            if let Some(bare) = crate::finwatch::bare_fin(frame) {
                self.fin_frames.insert(key, bare);
            }
        }
    }
}

/// The adapter between a [`NetDevice`] and smoltcp.
pub(crate) struct Link {
    rx_buf: Vec<u8>,
    pub tx: TxSide,
    mtu: usize,
    /// Set when a SYN went up to smoltcp; the stack then refills listening pools.
    pub syn_seen: bool,
    /// Ports whose listener has no free slot: SYNs to them are dropped.
    pub full_ports: BTreeSet<u16>,
    /// Whether any AF_PACKET endpoint exists (only then are packets copied).
    pub capture: bool,
    pub captured: VecDeque<Captured>,
}

impl Link {
    pub fn new(dev: alloc::boxed::Box<dyn NetDevice>) -> Link {
        // smoltcp cannot carry IP packets over 65535 bytes; clamp what a device claims.
        let mtu = dev.mtu().clamp(576, 65_535);
        let rx_max = dev.max_frame().clamp(mtu + 14, LOOPBACK_MTU + 14);
        Link {
            rx_buf: vec![0; rx_max],
            tx: TxSide {
                dev,
                buf: vec![0; mtu + 14],
                fin_frames: BTreeMap::new(),
                rst_sent: BTreeSet::new(),
                arp: Default::default(),
                now: Instant::from_millis(0),
                loopback: VecDeque::new(),
                local_ip: None,
                stats: LinkStats::default(),
                dev_mtu: mtu,
                wire_up: true,
            },
            mtu,
            syn_seen: false,
            full_ports: BTreeSet::new(),
            capture: false,
            captured: VecDeque::new(),
        }
    }

    pub fn mtu(&self) -> usize {
        self.mtu
    }

    pub fn mac(&self) -> [u8; 6] {
        self.tx.dev.mac_address()
    }

    /// Send an IPv4 packet from an AF_PACKET endpoint to `dst_mac`, bypassing smoltcp.
    pub fn send_packet(&mut self, dst_mac: [u8; 6], packet: &[u8]) -> bool {
        let len = packet.len() + 14;
        if len > self.tx.buf.len() {
            return false;
        }
        let mac = self.mac();
        let buf = &mut self.tx.buf;
        buf[0..6].copy_from_slice(&dst_mac);
        buf[6..12].copy_from_slice(&mac);
        buf[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        buf[14..len].copy_from_slice(packet);
        self.tx.emit(len);
        true
    }

    /// Send the remembered FIN segment of a connection again.
    pub fn resend_fin(&mut self, key: &FinKey) {
        if let Some(f) = self.tx.fin_frames.get(key) {
            if self.tx.dev.transmit(f) {
                self.tx.stats.tx_frames += 1;
                self.tx.stats.tx_bytes += f.len() as u64;
            }
        }
    }

    /// Decide whether a received frame goes up to smoltcp, noting SYNs and captures.
    fn admit(&mut self, frame: &[u8], from_wire: bool) -> bool {
        if frame.len() < 14 {
            return false;
        }
        match ethertype(frame) {
            Some(ETHERTYPE_IPV4) => {}
            Some(ETHERTYPE_ARP) => {
                if let Some(s) = frame.get(14 + 14..14 + 18) {
                    self.tx.arp.heard(Ipv4Addr::new(s[0], s[1], s[2], s[3]));
                }
                return true;
            }
            _ => return true,
        }
        let ip = &frame[14..];
        let (Some(src), Some(dst)) = (ipv4_src(ip), ipv4_dst(ip)) else {
            return true; // smoltcp rejects it properly
        };
        if from_wire {
            self.tx.arp.heard(src);
        }
        if from_wire && (src.is_loopback() || dst.is_loopback()) {
            return false;
        }
        if let Some(port) = tcp_syn_port(ip) {
            if self.full_ports.contains(&port) {
                return false;
            }
            self.syn_seen = true;
        }
        if from_wire && self.capture && self.captured.len() < CAPTURE_QUEUE_MAX {
            let mut src_mac = [0; 6];
            src_mac.copy_from_slice(&frame[6..12]);
            self.captured.push_back(Captured {
                src_mac,
                packet: ip.to_vec(),
            });
        }
        true
    }
}

pub(crate) enum RxFrame<'a> {
    Wire(&'a [u8]),
    Loop(Vec<u8>),
}

pub(crate) struct RxTok<'a>(RxFrame<'a>);
pub(crate) struct TxTok<'a>(&'a mut TxSide);

impl phy::RxToken for RxTok<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self.0 {
            RxFrame::Wire(b) => f(b),
            RxFrame::Loop(v) => f(&v),
        }
    }
}

impl phy::TxToken for TxTok<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let tx = self.0;
        if tx.buf.len() < len {
            tx.buf.resize(len, 0);
        }
        let r = f(&mut tx.buf[..len]);
        tx.emit(len);
        r
    }
}

impl Device for Link {
    type RxToken<'a> = RxTok<'a>;
    type TxToken<'a> = TxTok<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxTok<'_>, TxTok<'_>)> {
        loop {
            if let Some(frame) = self.tx.loopback.pop_front() {
                if !self.admit(&frame, false) {
                    continue;
                }
                return Some((RxTok(RxFrame::Loop(frame)), TxTok(&mut self.tx)));
            }
            let n = self
                .tx
                .dev
                .receive(&mut self.rx_buf)?
                .min(self.rx_buf.len());
            if !self.tx.wire_up {
                // Taken from the device (its buffers go back) and dropped, as a down
                // interface drops what arrives.
                self.tx.stats.rx_dropped += 1;
                continue;
            }
            crate::mss::clamp_mss(&mut self.rx_buf[..n], (self.mtu - 40) as u16);
            self.tx.stats.rx_frames += 1;
            self.tx.stats.rx_bytes += n as u64;
            let frame = core::mem::take(&mut self.rx_buf);
            let admitted = self.admit(&frame[..n], true);
            self.rx_buf = frame;
            if !admitted {
                self.tx.stats.rx_dropped += 1;
                continue;
            }
            return Some((RxTok(RxFrame::Wire(&self.rx_buf[..n])), TxTok(&mut self.tx)));
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxTok<'_>> {
        if self.tx.dev.can_transmit() {
            Some(TxTok(&mut self.tx))
        } else {
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = LOOPBACK_MTU.max(self.mtu) + 14;
        caps
    }
}

fn ethertype(frame: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?))
}

fn ipv4_header_ok(ip: &[u8]) -> bool {
    ip.len() >= 20 && ip[0] >> 4 == 4
}

fn ipv4_src(ip: &[u8]) -> Option<Ipv4Addr> {
    ipv4_header_ok(ip).then(|| Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]))
}

fn ipv4_dst(ip: &[u8]) -> Option<Ipv4Addr> {
    ipv4_header_ok(ip).then(|| Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]))
}

/// The target protocol address of an Ethernet/IPv4 ARP packet.
fn arp_target(arp: &[u8]) -> Option<Ipv4Addr> {
    let t = arp.get(24..28)?;
    Some(Ipv4Addr::new(t[0], t[1], t[2], t[3]))
}

/// The operation of an Ethernet/IPv4 ARP packet (1 request, 2 reply).
fn arp_op(arp: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(arp.get(6..8)?.try_into().ok()?))
}

/// The destination port of a TCP segment with SYN and without ACK (a connection request).
fn tcp_syn_port(ip: &[u8]) -> Option<u16> {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if ip[9] != 6 || ihl < 20 || fragment_offset != 0 {
        return None;
    }
    let tcp = ip.get(ihl..ihl + 14)?;
    let flags = tcp[13];
    (flags & 0x12 == 0x02).then(|| u16::from_be_bytes([tcp[2], tcp[3]]))
}

/// The connection key of an outgoing Ethernet frame carrying TCP `flag` (FIN, RST).
fn tcp_key_with_flag(frame: &[u8], flag: u8) -> Option<FinKey> {
    if ethertype(frame) != Some(ETHERTYPE_IPV4) {
        return None;
    }
    let ip = &frame[14..];
    let dst = ipv4_dst(ip)?;
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[9] != 6 || ihl < 20 {
        return None;
    }
    let tcp = ip.get(ihl..ihl + 14)?;
    (tcp[13] & flag != 0).then(|| {
        (
            u16::from_be_bytes([tcp[0], tcp[1]]),
            dst,
            u16::from_be_bytes([tcp[2], tcp[3]]),
        )
    })
}
