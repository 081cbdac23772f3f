//! Memory: physical frames ([`frames`]), the kernel's page tables with a direct map of
//! all physical memory ([`paging`]), and the kernel heap ([`heap`]), which grows by
//! taking contiguous frames when it runs out.

pub mod frames;
pub mod heap;
pub mod paging;
pub mod vm;

use writ_boot::{BootInfo, MemKind};

pub const PAGE_SIZE: u64 = 4096;

/// Virtual base of the direct map: physical address p is at `PHYS_OFFSET + p`.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;

/// The kernel-virtual address of a physical address (valid once [`paging::init`] ran).
pub fn phys_to_virt(p: u64) -> u64 {
    PHYS_OFFSET + p
}

pub fn init(info: &'static BootInfo) {
    if info.memory.is_empty() {
        panic!("mem: the boot loader gave no memory map (not a PVH boot?)");
    }
    let usable: u64 = info
        .memory
        .iter()
        .filter(|r| r.kind == MemKind::Usable)
        .map(|r| r.len)
        .sum();
    frames::init(info);
    let f = frames::stats();
    log::info!(
        "mem: {} E820 regions, {} MiB usable, {} of {} frames free ({} MiB), kernel {:#x}..{:#x}",
        info.memory.len(),
        usable >> 20,
        f.free,
        f.total,
        (f.free * PAGE_SIZE) >> 20,
        info.kernel_phys.0,
        info.kernel_phys.1
    );
    if info.memory_dropped > 0 || f.ignored_bytes > 0 {
        log::warn!(
            "mem: {} regions dropped, {} MiB above the {} GiB frame limit ignored",
            info.memory_dropped,
            f.ignored_bytes >> 20,
            frames::MAX_PHYS >> 30
        );
    }
    let mapped = paging::init(info);
    log::info!(
        "paging: 4-level, direct map of {} MiB at {:#x}, kernel at {:#x}",
        mapped >> 20,
        PHYS_OFFSET,
        writ_boot::KERNEL_BASE
    );
    heap::init();
}
