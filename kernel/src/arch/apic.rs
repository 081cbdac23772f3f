//! The local APIC (timer, EOI) and the I/O APIC (device interrupt routing). The legacy
//! 8259 PICs are remapped out of the exception range and masked: every interrupt comes
//! through the APICs.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::acpi::Platform;
use crate::mm::phys_to_virt;

const LAPIC_ID: u64 = 0x20;
const LAPIC_VERSION: u64 = 0x30;
const LAPIC_TPR: u64 = 0x80;
const LAPIC_EOI: u64 = 0xb0;
const LAPIC_SVR: u64 = 0xf0;
const LAPIC_LVT_TIMER: u64 = 0x320;
const LAPIC_TIMER_INITIAL: u64 = 0x380;
const LAPIC_TIMER_CURRENT: u64 = 0x390;
const LAPIC_TIMER_DIVIDE: u64 = 0x3e0;

const IA32_APIC_BASE: u32 = 0x1b;
const TIMER_PERIODIC: u32 = 1 << 17;
const LVT_MASKED: u32 = 1 << 16;

static LAPIC_BASE: AtomicU64 = AtomicU64::new(0);
/// ISA IRQ -> (GSI, polarity/trigger flags) from the MADT's source overrides.
static ISA_ROUTES: spin::Mutex<[(u32, u16); 16]> = spin::Mutex::new([(0, 0); 16]);
static IOAPIC_BASE: AtomicU64 = AtomicU64::new(0);

fn lapic_read(reg: u64) -> u32 {
    let base = LAPIC_BASE.load(Ordering::Relaxed);
    // SAFETY: the LAPIC MMIO page is inside the direct map; registers are 32-bit.
    unsafe { core::ptr::read_volatile((base + reg) as *const u32) }
}

fn lapic_write(reg: u64, value: u32) {
    let base = LAPIC_BASE.load(Ordering::Relaxed);
    // SAFETY: as in lapic_read.
    unsafe { core::ptr::write_volatile((base + reg) as *mut u32, value) }
}

fn ioapic_read(reg: u32) -> u32 {
    let base = IOAPIC_BASE.load(Ordering::Relaxed);
    // SAFETY: IOREGSEL/IOWIN of the I/O APIC found in the MADT, in the direct map.
    unsafe {
        core::ptr::write_volatile(base as *mut u32, reg);
        core::ptr::read_volatile((base + 0x10) as *const u32)
    }
}

fn ioapic_write(reg: u32, value: u32) {
    let base = IOAPIC_BASE.load(Ordering::Relaxed);
    // SAFETY: as in ioapic_read.
    unsafe {
        core::ptr::write_volatile(base as *mut u32, reg);
        core::ptr::write_volatile((base + 0x10) as *mut u32, value);
    }
}

fn disable_8259() {
    // SAFETY: the standard ICW sequence on the PIC ports: remap to vectors 0x20/0x28
    // (so a stray IRQ never looks like an exception), then mask every line.
    unsafe {
        let mut m_cmd = Port::<u8>::new(0x20);
        let mut m_data = Port::<u8>::new(0x21);
        let mut s_cmd = Port::<u8>::new(0xa0);
        let mut s_data = Port::<u8>::new(0xa1);
        m_cmd.write(0x11);
        s_cmd.write(0x11);
        m_data.write(0x20);
        s_data.write(0x28);
        m_data.write(4);
        s_data.write(2);
        m_data.write(1);
        s_data.write(1);
        m_data.write(0xff);
        s_data.write(0xff);
    }
}

pub fn init(platform: &Platform) {
    if platform.has_8259 {
        disable_8259();
    }
    LAPIC_BASE.store(phys_to_virt(platform.lapic_address), Ordering::Relaxed);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting bit 11 enables the APIC
    // at the address it already holds.
    unsafe {
        let mut msr = Msr::new(IA32_APIC_BASE);
        let v = msr.read();
        msr.write(v | (1 << 11));
    }
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, 0x100 | u32::from(super::idt::VECTOR_SPURIOUS));
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);

    {
        let mut routes = ISA_ROUTES.lock();
        for (irq, r) in routes.iter_mut().enumerate() {
            *r = (irq as u32, 0);
        }
        for o in &platform.overrides {
            if let Some(r) = routes.get_mut(usize::from(o.irq)) {
                *r = (o.gsi, o.flags);
            }
        }
    }
    let mut redirections = 0;
    if let Some(io) = platform.ioapics.first() {
        IOAPIC_BASE.store(phys_to_virt(io.address), Ordering::Relaxed);
        redirections = ((ioapic_read(1) >> 16) & 0xff) + 1;
        for i in 0..redirections {
            ioapic_write(0x10 + 2 * i, LVT_MASKED);
            ioapic_write(0x11 + 2 * i, 0);
        }
    }
    log::info!(
        "apic: local APIC id {} version {:#x} at {:#x}; I/O APIC at {:#x} with {} inputs (all masked); 8259 {}",
        lapic_read(LAPIC_ID) >> 24,
        lapic_read(LAPIC_VERSION) & 0xff,
        platform.lapic_address,
        platform.ioapics.first().map_or(0, |i| i.address),
        redirections,
        if platform.has_8259 { "masked" } else { "absent" }
    );
}

pub fn eoi() {
    lapic_write(LAPIC_EOI, 0);
}

/// Routes legacy ISA interrupt `irq` (through any MADT override) to `vector`.
pub fn route_isa_irq(irq: u8, vector: u8) {
    let (gsi, flags) = ISA_ROUTES.lock()[usize::from(irq & 15)];
    // MPS INTI flags: polarity bits 0-1 (3 = active low), trigger bits 2-3 (3 = level).
    let level = (flags >> 2) & 3 == 3;
    let mut low = u32::from(vector);
    if flags & 3 == 3 {
        low |= 1 << 13;
    }
    if level {
        low |= 1 << 15;
    }
    ioapic_write(0x11 + 2 * gsi, (lapic_read(LAPIC_ID) >> 24) << 24);
    ioapic_write(0x10 + 2 * gsi, low);
}

/// The MSI message address that delivers to this CPU's local APIC (fixed delivery,
/// physical destination mode); the message data is then the vector.
pub fn msi_address() -> u64 {
    0xfee0_0000 | (u64::from(lapic_read(LAPIC_ID) >> 24) << 12)
}

/// Routes a GSI to `vector` on this CPU (edge, active high unless `level`).
#[allow(dead_code)] // first user: the virtio-net driver (issue 7)
pub fn route_gsi(gsi: u32, vector: u8, level: bool) {
    let mut low = u32::from(vector);
    if level {
        low |= (1 << 15) | (1 << 13);
    }
    ioapic_write(0x11 + 2 * gsi, (lapic_read(LAPIC_ID) >> 24) << 24);
    ioapic_write(0x10 + 2 * gsi, low);
}

/// Counts LAPIC timer ticks (divide by 16) over `ns` of TSC time.
pub fn measure_timer(ns: u64) -> u32 {
    lapic_write(LAPIC_TIMER_DIVIDE, 0x3);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_INITIAL, u32::MAX);
    crate::time::busy_wait_ns(ns);
    let left = lapic_read(LAPIC_TIMER_CURRENT);
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    u32::MAX - left
}

/// Periodic timer interrupts every `count` ticks (divide by 16) on `vector`.
pub fn start_periodic(count: u32, vector: u8) {
    lapic_write(LAPIC_TIMER_DIVIDE, 0x3);
    lapic_write(LAPIC_LVT_TIMER, TIMER_PERIODIC | u32::from(vector));
    lapic_write(LAPIC_TIMER_INITIAL, count.max(1));
}
