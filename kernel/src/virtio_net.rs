//! The virtio-net driver: a virtio 1.0 ("modern") PCI device, one receive and one
//! transmit split virtqueue, interrupts by MSI-X. It implements netobj's [`NetDevice`]
//! and owns nothing but the device: the NetStack above it does all protocol work.
//!
//! Why it looks the way it does:
//!
//! - Buffers are allocated once at probe: every receive descriptor keeps its own
//!   2 KiB buffer (a 12-byte virtio-net header plus a 1514-byte frame fit) and is
//!   re-posted as soon as its frame is copied out, and every transmit descriptor has its
//!   own buffer too, so the hot path never allocates.
//! - Receive interrupts are NAPI-style: the interrupt handler suppresses further ones
//!   (VIRTQ_AVAIL_F_NO_INTERRUPT) and calls `on_interrupt`; `receive` turns them back on
//!   only when it finds the ring empty (and looks once more, so no frame is missed).
//!   Under TCG every interrupt is expensive, and a burst of frames needs only one.
//! - Transmit completions interrupt only when the ring is full (`can_transmit` false):
//!   otherwise finished descriptors are reclaimed when the next frame is sent.
//! - The device is kicked only when it asked to be (VIRTQ_USED_F_NO_NOTIFY clear):
//!   QEMU suppresses kicks while it is busy with a queue.
//! - Receive offloads (GUEST_CSUM, GUEST_TSO4, with MRG_RXBUF so a large frame spans
//!   several 2 KiB buffers), when the device offers all three: the host then passes TCP
//!   segments of up to 64 KiB as one frame instead of forty-odd MTU-sized ones, which
//!   is most of the cost of receiving under emulation, on both sides of the device.
//!   Checksums the host left partial (NEEDS_CSUM) or already verified (DATA_VALID) are
//!   completed here (`netobj::offload`), so the stack still sees and checks real ones.
//!
//! Everything the device writes (used-ring ids and lengths) is bounds-checked, so even
//! a broken device cannot make the driver index out of range.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};

use netobj::device::NetDevice;

use crate::mm::{frames, phys_to_virt, PAGE_SIZE};
use crate::pci::PciDevice;

const VENDOR_VIRTIO: u16 = 0x1af4;
/// Modern-only virtio-net; 0x1000 is the transitional device (legacy and modern).
const DEVICE_NET_MODERN: u16 = 0x1041;
const DEVICE_NET_TRANSITIONAL: u16 = 0x1000;

const PCI_CAP_VENDOR: u8 = 0x09;
const PCI_CAP_MSIX: u8 = 0x11;
const CFG_COMMON: u8 = 1;
const CFG_NOTIFY: u8 = 2;
const CFG_DEVICE: u8 = 4;

// The common configuration structure (virtio 1.0, 4.1.4.3).
const COMMON_DFSELECT: u64 = 0x00;
const COMMON_DF: u64 = 0x04;
const COMMON_GFSELECT: u64 = 0x08;
const COMMON_GF: u64 = 0x0c;
const COMMON_MSIX_CONFIG: u64 = 0x10;
const COMMON_NUM_QUEUES: u64 = 0x12;
const COMMON_STATUS: u64 = 0x14;
const COMMON_Q_SELECT: u64 = 0x16;
const COMMON_Q_SIZE: u64 = 0x18;
const COMMON_Q_MSIX: u64 = 0x1a;
const COMMON_Q_ENABLE: u64 = 0x1c;
const COMMON_Q_NOTIFY_OFF: u64 = 0x1e;
const COMMON_Q_DESC: u64 = 0x20;
const COMMON_Q_AVAIL: u64 = 0x28;
const COMMON_Q_USED: u64 = 0x30;

const STATUS_ACKNOWLEDGE: u8 = 1;
const STATUS_DRIVER: u8 = 2;
const STATUS_DRIVER_OK: u8 = 4;
const STATUS_FEATURES_OK: u8 = 8;
const STATUS_FAILED: u8 = 128;

const F_GUEST_CSUM: u64 = 1 << 1;
const F_MTU: u64 = 1 << 3;
const F_GUEST_TSO4: u64 = 1 << 7;
const F_MRG_RXBUF: u64 = 1 << 15;
/// The receive offloads, negotiated all together or not at all.
const RX_OFFLOADS: u64 = F_GUEST_CSUM | F_GUEST_TSO4 | F_MRG_RXBUF;
const HDR_F_NEEDS_CSUM: u8 = 1;
const HDR_F_DATA_VALID: u8 = 2;
/// The longest frame with the receive offloads: a 64 KiB IP packet.
const MAX_OFFLOAD_FRAME: usize = 65_535 + ETH_HEADER;
const F_MAC: u64 = 1 << 5;
const F_VERSION_1: u64 = 1 << 32;

const NO_VECTOR: u16 = 0xffff;
const DESC_F_WRITE: u16 = 2;
const AVAIL_F_NO_INTERRUPT: u16 = 1;
const USED_F_NO_NOTIFY: u16 = 1;

/// The virtio-net header in front of every frame (12 bytes with VERSION_1). Transmitted
/// frames carry an all-zero one (no transmit offloads); see [`RxHeader`] for received.
const HDR: usize = 12;
/// Each descriptor's buffer: header + 1514-byte frame, rounded so two fit a page.
const BUF: usize = 2048;
/// Queue entries used at most; the rings then fit one page each.
const QUEUE_MAX: u16 = 256;
const ETH_HEADER: usize = 14;

/// The callback `probe` was given (a `fn()` as usize).
static ON_INTERRUPT: AtomicUsize = AtomicUsize::new(0);
/// Virtual address of the receive ring's avail.flags, written by the interrupt handler.
static RX_AVAIL_FLAGS: AtomicU64 = AtomicU64::new(0);
/// Ring addresses (rx avail, rx used, tx avail, tx used) for [`ring_state`].
static RINGS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// Interrupts taken (for the boot line and self-test).
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

pub fn interrupts() -> u64 {
    INTERRUPTS.load(Ordering::Relaxed)
}

/// The rings' indexes and flags as the device sees them, for diagnostics: "rx avail
/// idx/flags used idx/flags, tx avail idx/flags used idx/flags".
pub fn ring_state() -> alloc::string::String {
    let r: [u64; 4] = core::array::from_fn(|i| RINGS[i].load(Ordering::Relaxed));
    if r[0] == 0 {
        return "no device".into();
    }
    alloc::format!(
        "rx avail {}/{} used {}/{}, tx avail {}/{} used {}/{}",
        read16(r[0] + 2),
        read16(r[0]),
        read16(r[1] + 2),
        read16(r[1]),
        read16(r[2] + 2),
        read16(r[2]),
        read16(r[3] + 2),
        read16(r[3])
    )
}

fn read16(addr: u64) -> u16 {
    // SAFETY: addr is inside a mapped BAR region or a ring page this driver owns; the
    // probe checked every region lies in the direct map.
    unsafe { core::ptr::read_volatile(addr as *const u16) }
}
fn read32(addr: u64) -> u32 {
    // SAFETY: as read16.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}
fn read8(addr: u64) -> u8 {
    // SAFETY: as read16.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}
fn write8(addr: u64, v: u8) {
    // SAFETY: as read16.
    unsafe { core::ptr::write_volatile(addr as *mut u8, v) }
}
fn write16(addr: u64, v: u16) {
    // SAFETY: as read16.
    unsafe { core::ptr::write_volatile(addr as *mut u16, v) }
}
fn write32(addr: u64, v: u32) {
    // SAFETY: as read16.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}
fn write64(addr: u64, v: u64) {
    // The common config's 64-bit fields are written as two 32-bit halves (4.1.3.1).
    write32(addr, v as u32);
    write32(addr + 4, (v >> 32) as u32);
}

/// The interrupt handler: suppress further receive interrupts until `receive` drains
/// the ring, then tell the stack's owner. MSI-X needs no device acknowledgement (the
/// ISR register is only for INTx); the EOI follows in the trap code.
fn on_irq() {
    INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    let flags = RX_AVAIL_FLAGS.load(Ordering::Relaxed);
    if flags != 0 {
        write16(flags, AVAIL_F_NO_INTERRUPT);
    }
    let f = ON_INTERRUPT.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: only probe stores here, and it stores a `fn()`.
        let f = unsafe { core::mem::transmute::<usize, fn()>(f) };
        f();
    }
}

/// One split virtqueue, its three rings in three pages of its own.
struct Queue {
    size: u16,
    desc: u64,
    avail: u64,
    used: u64,
    /// The queue's notification register.
    notify: u64,
    /// The avail index we publish next.
    avail_idx: u16,
    /// The used index we consume next.
    last_used: u16,
    /// Physical address of each descriptor's buffer.
    bufs: Vec<u64>,
}

impl Queue {
    fn set_desc(&self, i: u16, addr: u64, len: u32, flags: u16) {
        let d = self.desc + 16 * u64::from(i);
        write64(d, addr);
        write32(d + 8, len);
        write16(d + 12, flags);
        write16(d + 14, 0);
    }

    /// Makes descriptor `id` available (not yet visible to the device: see `publish`).
    fn push(&mut self, id: u16) {
        let slot = self.avail + 4 + 2 * u64::from(self.avail_idx % self.size);
        write16(slot, id);
        self.avail_idx = self.avail_idx.wrapping_add(1);
    }

    /// Publishes pushed descriptors and kicks the device if it wants kicks.
    fn publish(&self, queue_index: u16) {
        fence(Ordering::Release);
        write16(self.avail + 2, self.avail_idx);
        // The device's flags must be read after our index is visible (a full barrier:
        // the store above must not pass the load below).
        fence(Ordering::SeqCst);
        if read16(self.used) & USED_F_NO_NOTIFY == 0 {
            write16(self.notify, queue_index);
        }
    }

    fn has_used(&self) -> bool {
        read16(self.used + 2) != self.last_used
    }

    /// The next used element (descriptor id, bytes written), if any.
    fn pop_used(&mut self) -> Option<(u16, usize)> {
        if !self.has_used() {
            return None;
        }
        fence(Ordering::Acquire);
        let e = self.used + 4 + 8 * u64::from(self.last_used % self.size);
        let id = read32(e);
        let len = read32(e + 4) as usize;
        self.last_used = self.last_used.wrapping_add(1);
        Some((u16::try_from(id).ok()?, len))
    }

    fn set_interrupts(&self, on: bool) {
        write16(self.avail, if on { 0 } else { AVAIL_F_NO_INTERRUPT });
    }
}

/// The fields of a received frame's virtio-net header that the driver uses.
struct RxHeader {
    flags: u8,
    csum_start: u16,
    csum_offset: u16,
    num_buffers: u16,
}

impl RxHeader {
    fn parse(h: &[u8]) -> RxHeader {
        let le = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        RxHeader {
            flags: h[0],
            csum_start: le(6),
            csum_offset: le(8),
            num_buffers: le(10),
        }
    }
}

/// The virtio-net device.
pub struct VirtioNet {
    mac: [u8; 6],
    mtu: usize,
    /// The receive offloads were negotiated ([`RX_OFFLOADS`]).
    offload: bool,
    rx: Queue,
    tx: Queue,
    tx_free: Vec<u16>,
    /// Which transmit descriptors the device holds (so a bogus used entry is ignored).
    tx_busy: Vec<bool>,
}

/// A region of a BAR named by a virtio capability: (bar, offset, length).
#[derive(Clone, Copy)]
struct Region {
    bar: u8,
    offset: u32,
    length: u32,
}

fn region(dev: &PciDevice, cap: u8) -> Region {
    Region {
        bar: dev.read8(cap + 4),
        offset: dev.read32(cap + 8),
        length: dev.read32(cap + 12),
    }
}

/// The kernel-virtual address of a region, if its BAR is inside the direct map.
fn map_region(dev: &PciDevice, r: Region) -> Option<u64> {
    let base = dev.bar_address(r.bar);
    let phys = base.checked_add(u64::from(r.offset))?;
    // The direct map covers at least the low 4 GiB, where firmware puts these BARs.
    if base == 0 || phys.checked_add(u64::from(r.length))? > 4 << 30 {
        log::warn!(
            "virtio-net: BAR {} at {base:#x} is outside the direct map",
            r.bar
        );
        return None;
    }
    Some(phys_to_virt(phys))
}

/// Zeroed, physically contiguous pages for a queue's rings.
fn alloc_pages(n: usize) -> Option<u64> {
    let p = frames::alloc_contiguous(n, 1)?;
    // SAFETY: fresh frames, reached through the direct map.
    unsafe { core::ptr::write_bytes(phys_to_virt(p) as *mut u8, 0, n * PAGE_SIZE as usize) };
    Some(p)
}

/// Finds a virtio-net device on PCI, initialises it, routes its interrupt (MSI-X) to a
/// handler that calls `on_interrupt` (in interrupt context: it must only set a flag or
/// wake a thread), and returns it as a NetDevice. None if there is no such device or
/// it cannot be driven (each reason is logged). Only the first call can succeed: the
/// device has one owner.
pub fn probe(on_interrupt: fn()) -> Option<Box<dyn NetDevice>> {
    static PROBED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if PROBED.swap(true, Ordering::AcqRel) {
        log::warn!("virtio-net: probe called again; the device already has its owner");
        return None;
    }
    let dev = crate::pci::devices().into_iter().find(|d| {
        d.vendor == VENDOR_VIRTIO
            && (d.device == DEVICE_NET_MODERN || d.device == DEVICE_NET_TRANSITIONAL)
    })?;
    match init(&dev, on_interrupt) {
        Ok(net) => Some(Box::new(net)),
        Err(why) => {
            log::warn!(
                "virtio-net: {:02x}:{:02x}.{}: {why}",
                dev.bus,
                dev.dev,
                dev.func
            );
            None
        }
    }
}

fn init(dev: &PciDevice, on_interrupt: fn()) -> Result<VirtioNet, &'static str> {
    let (mut common, mut notify, mut device) = (None, None, None);
    let mut notify_mult = 0;
    for cap in dev.capabilities(PCI_CAP_VENDOR) {
        let kind = dev.read8(cap + 3);
        match kind {
            CFG_COMMON if common.is_none() => common = Some(region(dev, cap)),
            CFG_NOTIFY if notify.is_none() => {
                notify = Some(region(dev, cap));
                notify_mult = dev.read32(cap + 16);
            }
            CFG_DEVICE if device.is_none() => device = Some(region(dev, cap)),
            _ => {}
        }
    }
    let (Some(common), Some(notify), Some(device)) = (common, notify, device) else {
        return Err("no modern virtio capabilities (legacy-only device?)");
    };
    let msix = *dev
        .capabilities(PCI_CAP_MSIX)
        .first()
        .ok_or("no MSI-X capability")?;
    dev.enable_mmio_and_dma();
    let common = map_region(dev, common).ok_or("common config not mappable")?;
    let notify_base = map_region(dev, notify).ok_or("notify region not mappable")?;
    let devcfg = map_region(dev, device).ok_or("device config not mappable")?;

    // Reset, then ACKNOWLEDGE and DRIVER (3.1.1).
    write8(common + COMMON_STATUS, 0);
    while read8(common + COMMON_STATUS) != 0 {
        core::hint::spin_loop();
    }
    write8(common + COMMON_STATUS, STATUS_ACKNOWLEDGE);
    write8(common + COMMON_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);

    let mut offered = 0u64;
    for sel in 0..2u32 {
        write32(common + COMMON_DFSELECT, sel);
        offered |= u64::from(read32(common + COMMON_DF)) << (32 * sel);
    }
    if offered & F_VERSION_1 == 0 {
        write8(common + COMMON_STATUS, STATUS_FAILED);
        return Err("device does not offer VIRTIO_F_VERSION_1");
    }
    let mut wanted = offered & (F_VERSION_1 | F_MAC | F_MTU);
    let offload = offered & RX_OFFLOADS == RX_OFFLOADS;
    if offload {
        wanted |= RX_OFFLOADS;
    }
    for sel in 0..2u32 {
        write32(common + COMMON_GFSELECT, sel);
        write32(common + COMMON_GF, (wanted >> (32 * sel)) as u32);
    }
    let status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
    write8(common + COMMON_STATUS, status);
    if read8(common + COMMON_STATUS) & STATUS_FEATURES_OK == 0 {
        write8(common + COMMON_STATUS, STATUS_FAILED);
        return Err("device refused our features");
    }

    let mut mac = [0u8; 6];
    if wanted & F_MAC != 0 {
        for (i, b) in mac.iter_mut().enumerate() {
            *b = read8(devcfg + i as u64);
        }
    } else {
        // A locally administered address of our own.
        mac = [0x02, 0x57, 0x52, 0x49, 0x54, 0x01];
    }
    let mtu = if wanted & F_MTU != 0 {
        usize::from(read16(devcfg + 10)).clamp(576, BUF - HDR - ETH_HEADER)
    } else {
        1500
    };
    if read16(common + COMMON_NUM_QUEUES) < 2 {
        write8(common + COMMON_STATUS, STATUS_FAILED);
        return Err("fewer than two virtqueues");
    }

    // MSI-X: entry 0 for both queues, no configuration-change interrupts.
    let vector = crate::arch::idt::alloc_vector(on_irq).ok_or("no free interrupt vector")?;
    let table = dev.read32(msix + 4);
    let table_base = dev.bar_address((table & 7) as u8);
    if table_base == 0 || table_base >= 4 << 30 {
        write8(common + COMMON_STATUS, STATUS_FAILED);
        return Err("MSI-X table BAR not mappable");
    }
    let entry0 = phys_to_virt(table_base + u64::from(table & !7));
    write64(entry0, crate::arch::apic::msi_address());
    write32(entry0 + 8, u32::from(vector));
    write32(entry0 + 12, 0); // unmasked
    let control = dev.read16(msix + 2);
    // Enable (bit 15), function mask off (bit 14).
    dev.write16(msix + 2, (control | 0x8000) & !0x4000);
    write16(common + COMMON_MSIX_CONFIG, NO_VECTOR);

    let setup = |index: u16| -> Result<Queue, &'static str> {
        write16(common + COMMON_Q_SELECT, index);
        let max = read16(common + COMMON_Q_SIZE);
        if max == 0 {
            return Err("virtqueue missing");
        }
        // Sizes are powers of two; take the device's if smaller than ours.
        let size = max.min(QUEUE_MAX);
        write16(common + COMMON_Q_SIZE, size);
        let rings = alloc_pages(3).ok_or("out of memory for a virtqueue")?;
        write64(common + COMMON_Q_DESC, rings);
        write64(common + COMMON_Q_AVAIL, rings + PAGE_SIZE);
        write64(common + COMMON_Q_USED, rings + 2 * PAGE_SIZE);
        write16(common + COMMON_Q_MSIX, 0);
        if read16(common + COMMON_Q_MSIX) != 0 {
            return Err("device refused the MSI-X vector");
        }
        let off = u64::from(read16(common + COMMON_Q_NOTIFY_OFF));
        let notify = notify_base + off * u64::from(notify_mult);
        let per_page = PAGE_SIZE as usize / BUF;
        let pages = usize::from(size).div_ceil(per_page);
        let data = alloc_pages(pages).ok_or("out of memory for buffers")?;
        let bufs = (0..u64::from(size))
            .map(|i| data + i * BUF as u64)
            .collect();
        Ok(Queue {
            size,
            desc: phys_to_virt(rings),
            avail: phys_to_virt(rings + PAGE_SIZE),
            used: phys_to_virt(rings + 2 * PAGE_SIZE),
            notify,
            avail_idx: 0,
            last_used: 0,
            bufs,
        })
    };
    let mut rx = setup(0)?;
    let tx = setup(1)?;
    for i in 0..rx.size {
        rx.set_desc(i, rx.bufs[usize::from(i)], BUF as u32, DESC_F_WRITE);
        rx.push(i);
    }
    // Transmit completions are reclaimed when sending; see the module comment.
    tx.set_interrupts(false);
    for index in 0..2u16 {
        write16(common + COMMON_Q_SELECT, index);
        write16(common + COMMON_Q_ENABLE, 1);
    }
    RX_AVAIL_FLAGS.store(rx.avail, Ordering::Relaxed);
    for (slot, addr) in RINGS.iter().zip([rx.avail, rx.used, tx.avail, tx.used]) {
        slot.store(addr, Ordering::Relaxed);
    }
    ON_INTERRUPT.store(on_interrupt as usize, Ordering::Release);
    write8(common + COMMON_STATUS, status | STATUS_DRIVER_OK);
    rx.publish(0);

    log::info!(
        "virtio-net: {:02x}:{:02x}.{} MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} MTU {} rx/tx queues {}/{} (buffers {} B), receive offloads {}, MSI-X vector {}",
        dev.bus,
        dev.dev,
        dev.func,
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        mtu,
        rx.size,
        tx.size,
        BUF,
        if offload { "on" } else { "off" },
        vector
    );
    let tx_free = (0..tx.size).rev().collect();
    let tx_busy = alloc::vec![false; usize::from(tx.size)];
    Ok(VirtioNet {
        mac,
        mtu,
        offload,
        rx,
        tx,
        tx_free,
        tx_busy,
    })
}

impl VirtioNet {
    fn reclaim_tx(&mut self) {
        let mut any = false;
        while let Some((id, _)) = self.tx.pop_used() {
            if let Some(busy @ true) = self.tx_busy.get_mut(usize::from(id)) {
                *busy = false;
                self.tx_free.push(id);
                any = true;
            }
        }
        if any {
            self.tx.set_interrupts(false);
        }
    }

    /// The bytes the device wrote into receive buffer `id` (`len` clamped to the buffer).
    fn rx_bytes(&self, id: u16, len: usize) -> &[u8] {
        let src = phys_to_virt(self.rx.bufs[usize::from(id)]);
        // SAFETY: the buffer is ours (BUF bytes; the device finished writing it: it is
        // in the used ring) and len <= BUF.
        unsafe { core::slice::from_raw_parts(src as *const u8, len.min(BUF)) }
    }

    /// Copies the frame that starts in used buffer `id` (`len` bytes written) into
    /// `buf`, gathering the further buffers a merged frame spans, and re-posts them all
    /// (not yet published). None for a frame to drop: empty, longer than `buf`,
    /// missing buffers, or a checksum to complete that lies outside it.
    fn take_frame(&mut self, id: u16, len: usize, buf: &mut [u8]) -> Option<usize> {
        if id >= self.rx.size {
            return None; // not ours: a broken device; nothing to re-post
        }
        let len = len.clamp(HDR, BUF);
        let first = self.rx_bytes(id, len);
        let hdr = RxHeader::parse(&first[..HDR]);
        let mut n = len - HDR;
        // Longer than `buf` allows (a giant): dropped whole, as a NIC drops it, rather
        // than passed up truncated; its buffers are still consumed and re-posted.
        let mut fits = n <= buf.len();
        if fits {
            buf[..n].copy_from_slice(&first[HDR..]);
        }
        self.rx.push(id);
        let parts = if self.offload {
            hdr.num_buffers.max(1)
        } else {
            1
        };
        for _ in 1..parts {
            // The device publishes a frame's buffers together, so the rest are there
            // (a device that did not: the frame is dropped).
            let (id, len) = self.rx.pop_used()?;
            if id >= self.rx.size {
                fits = false;
                continue;
            }
            let part = self.rx_bytes(id, len);
            if fits && n + part.len() <= buf.len() {
                buf[n..n + part.len()].copy_from_slice(part);
                n += part.len();
            } else {
                fits = false;
            }
            self.rx.push(id);
        }
        if !fits || n == 0 {
            return None;
        }
        let frame = &mut buf[..n];
        if hdr.flags & HDR_F_NEEDS_CSUM != 0 {
            let (start, offset) = (usize::from(hdr.csum_start), usize::from(hdr.csum_offset));
            if !netobj::offload::complete_partial(frame, start, offset) {
                return None;
            }
        } else if hdr.flags & HDR_F_DATA_VALID != 0 {
            netobj::offload::refresh_valid(frame);
        }
        Some(n)
    }
}

impl NetDevice for VirtioNet {
    fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn max_frame(&self) -> usize {
        if self.offload {
            MAX_OFFLOAD_FRAME
        } else {
            self.mtu + ETH_HEADER
        }
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut rearmed = false;
        loop {
            if let Some((id, len)) = self.rx.pop_used() {
                let frame = self.take_frame(id, len, buf);
                // Every buffer of the frame was re-posted: one publish (and at most one
                // kick) for all of them.
                self.rx.publish(0);
                match frame {
                    Some(n) => return Some(n),
                    None => continue,
                }
            }
            if rearmed {
                return None;
            }
            // Empty: interrupts back on, then look again so a frame that arrived in
            // between is not left waiting for an interrupt that was suppressed.
            self.rx.set_interrupts(true);
            fence(Ordering::SeqCst);
            rearmed = true;
        }
    }

    fn transmit(&mut self, frame: &[u8]) -> bool {
        if frame.len() > BUF - HDR {
            return false;
        }
        self.reclaim_tx();
        let Some(id) = self.tx_free.pop() else {
            return false;
        };
        let phys = self.tx.bufs[usize::from(id)];
        let dst = phys_to_virt(phys);
        // SAFETY: the buffer is ours (the device returned it, or never had it) and
        // HDR + frame.len() <= BUF.
        unsafe {
            core::ptr::write_bytes(dst as *mut u8, 0, HDR);
            core::ptr::copy_nonoverlapping(
                frame.as_ptr(),
                (dst + HDR as u64) as *mut u8,
                frame.len(),
            );
        }
        self.tx.set_desc(id, phys, (HDR + frame.len()) as u32, 0);
        self.tx_busy[usize::from(id)] = true;
        self.tx.push(id);
        self.tx.publish(1);
        if self.tx_free.is_empty() {
            // Full: have the device interrupt when it returns descriptors, so the stack
            // polls again and sends what waits.
            self.tx.set_interrupts(true);
        }
        true
    }

    fn can_transmit(&self) -> bool {
        !self.tx_free.is_empty() || self.tx.has_used()
    }
}
