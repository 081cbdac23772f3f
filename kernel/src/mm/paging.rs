//! The kernel's page tables: a direct map of physical memory at [`super::PHYS_OFFSET`] (2 MiB
//! pages, covering RAM and the 32-bit MMIO hole where the APICs live) and the kernel
//! image at `KERNEL_BASE`, whose page directories are shared with the direct map.
//! The lower half stays empty for user address spaces.

use writ_boot::{BootInfo, MemKind};
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::PhysFrame;
use x86_64::PhysAddr;

use super::{frames, PAGE_SIZE};

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const GLOBAL: u64 = 1 << 8;
const NO_EXECUTE: u64 = 1 << 63;

static mut KERNEL_PML4: u64 = 0;

/// Physical address of the kernel's PML4 (address spaces copy its upper half).
pub fn kernel_pml4() -> u64 {
    // SAFETY: written once in `init` before any reader exists.
    unsafe { KERNEL_PML4 }
}

/// A fresh zeroed table frame, reached through the boot identity map (only valid before
/// the switch to the new tables; table frames come from below 4 GiB, first fit).
fn early_table() -> u64 {
    let p = frames::alloc().expect("paging: out of memory for page tables");
    assert!(p < (4 << 30), "paging: table frame above 4 GiB");
    // SAFETY: fresh frame below 4 GiB, identity-mapped by the boot tables.
    unsafe { core::ptr::write_bytes(p as *mut u8, 0, PAGE_SIZE as usize) };
    p
}

/// # Safety: `table` is an identity-mapped table frame from `early_table`.
unsafe fn set(table: u64, index: usize, value: u64) {
    (table as *mut u64).add(index).write_volatile(value);
}

/// Builds and loads the kernel tables; returns how many bytes the direct map covers.
pub fn init(info: &BootInfo) -> u64 {
    // RAM and ACPI tables only: QEMU also reports far-away reserved ranges (e.g. the
    // HyperTransport hole at 1 TiB) that need no mapping.
    let top = info
        .memory
        .iter()
        .filter(|r| !matches!(r.kind, MemKind::Reserved | MemKind::Other(_)))
        .map(|r| r.start + r.len)
        .max()
        .unwrap_or(0);
    // Cover at least 4 GiB so MMIO below 4 GiB (APIC, IOAPIC, PCI BARs) is reachable.
    let mapped = top
        .max(4 << 30)
        .next_multiple_of(1 << 30)
        .min(frames::MAX_PHYS.max(4 << 30));
    let gigs = (mapped >> 30) as usize;

    let pml4 = early_table();
    let dm_pdpt = early_table();
    // SAFETY: all tables were just allocated and are identity-mapped.
    unsafe {
        for g in 0..gigs {
            let pd = early_table();
            for i in 0..512u64 {
                let phys = ((g as u64) << 30) + (i << 21);
                set(
                    pd,
                    i as usize,
                    phys | PRESENT | WRITABLE | HUGE | GLOBAL | NO_EXECUTE,
                );
            }
            // Direct map: PML4 slot 256 (0xffff_8000_0000_0000), one PDPT covers 512 GiB.
            set(dm_pdpt, g, pd | PRESENT | WRITABLE);
        }
        set(pml4, 256, dm_pdpt | PRESENT | WRITABLE);

        // Kernel image: the top 2 GiB map physical 0..2 GiB, executable.
        let k_pdpt = early_table();
        for slot in 0..2u64 {
            let pd = early_table();
            for i in 0..512u64 {
                let phys = (slot << 30) + (i << 21);
                set(pd, i as usize, phys | PRESENT | WRITABLE | HUGE | GLOBAL);
            }
            set(k_pdpt, 510 + slot as usize, pd | PRESENT | WRITABLE);
        }
        set(pml4, 511, k_pdpt | PRESENT | WRITABLE);

        // Global pages and no-execute on data (EFER.NXE was set by the trampoline).
        x86_64::registers::control::Cr4::update(|f| {
            f.insert(x86_64::registers::control::Cr4Flags::PAGE_GLOBAL)
        });
        Cr3::write(
            PhysFrame::containing_address(PhysAddr::new(pml4)),
            Cr3Flags::empty(),
        );
        KERNEL_PML4 = pml4;
    }
    mapped
}
