//! writ-boot: how Writ gets from QEMU's `-kernel` to Rust.
//!
//! QEMU loads the kernel ELF by physical address and, finding the PVH note
//! (`XEN_ELFNOTE_PHYS32_ENTRY`), enters [`entry.S`](entry.S) in 32-bit protected mode with
//! `%ebx` pointing at a `struct hvm_start_info`. The trampoline builds early page tables
//! (identity 0..4 GiB plus the higher half at [`KERNEL_BASE`]), enters long mode on a
//! 64 KiB boot stack and calls [`writ_boot_entry`], which copies everything the kernel
//! needs out of the start info into a [`BootInfo`] (so nothing points into firmware
//! memory afterwards) and hands it to the kernel's `writ_kernel_main`.
//!
//! The crate is separate from `kernel/` so the boot protocol lives in one place; it is
//! only built for `x86_64-unknown-none`.
#![no_std]

use arrayvec::{ArrayString, ArrayVec};

core::arch::global_asm!(include_str!("entry.S"), options(att_syntax));

/// Where the kernel image is linked: virtual = `KERNEL_BASE` + physical.
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;

/// `hvm_start_info.magic` (Xen's `XEN_HVM_START_MAGIC_VALUE`).
pub const PVH_MAGIC: u32 = 0x336e_c578;

/// Most E820 entries we keep; QEMU produces well under a dozen.
pub const MAX_MEM_REGIONS: usize = 64;
/// Longest kernel command line kept; longer ones are cut (and the kernel says so).
pub const MAX_CMDLINE: usize = 2048;

/// E820 memory types as the PVH memory map reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemKind {
    Usable,
    Reserved,
    AcpiReclaimable,
    AcpiNvs,
    Bad,
    Other(u32),
}

impl MemKind {
    fn from_e820(t: u32) -> Self {
        match t {
            1 => MemKind::Usable,
            2 => MemKind::Reserved,
            3 => MemKind::AcpiReclaimable,
            4 => MemKind::AcpiNvs,
            5 => MemKind::Bad,
            other => MemKind::Other(other),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct MemRegion {
    pub start: u64,
    pub len: u64,
    pub kind: MemKind,
}

/// Everything the kernel learns from the boot protocol, copied into kernel memory.
#[derive(Debug)]
pub struct BootInfo {
    pub memory: ArrayVec<MemRegion, MAX_MEM_REGIONS>,
    /// Entries the firmware gave beyond [`MAX_MEM_REGIONS`] (dropped).
    pub memory_dropped: usize,
    pub cmdline: ArrayString<MAX_CMDLINE>,
    pub cmdline_truncated: bool,
    /// Physical start and length of the initrd (module 0), if QEMU passed one.
    pub initrd: Option<(u64, u64)>,
    /// Physical address of the ACPI RSDP, 0 if the firmware did not say.
    pub rsdp: u64,
    /// Physical range of the loaded kernel image (text to end of bss).
    pub kernel_phys: (u64, u64),
    /// Physical address of the start info page itself (reserved memory).
    pub start_info: u64,
}

#[repr(C)]
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
struct HvmModlistEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

#[repr(C)]
struct HvmMemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

extern "Rust" {
    fn writ_kernel_main(info: &'static BootInfo) -> !;
}

/// Reads a value at a physical address below 4 GiB through the early identity map.
///
/// # Safety
/// `phys` must be below 4 GiB, aligned for `T`, and hold a valid `T`.
unsafe fn phys_read<T>(phys: u64) -> T {
    core::ptr::read_volatile(phys as *const T)
}

static mut BOOT_INFO: Option<BootInfo> = None;

/// Called by `entry.S` in long mode on the boot stack. `start_info` is the physical
/// address QEMU put in `%ebx`.
#[no_mangle]
extern "C" fn writ_boot_entry(start_info: u32) -> ! {
    let start_info = u64::from(start_info);
    // SAFETY: PVH guarantees %ebx points at a valid hvm_start_info below 4 GiB, which the
    // early identity map covers; the magic is checked before anything else is trusted.
    let si: HvmStartInfo = unsafe { phys_read(start_info) };
    let mut info = BootInfo {
        memory: ArrayVec::new(),
        memory_dropped: 0,
        cmdline: ArrayString::new(),
        cmdline_truncated: false,
        initrd: None,
        rsdp: 0,
        kernel_phys: (0, 0),
        start_info,
    };
    if si.magic == PVH_MAGIC {
        for i in 0..u64::from(si.memmap_entries) {
            // SAFETY: the firmware's memory map table, memmap_entries long.
            let e: HvmMemmapEntry = unsafe { phys_read(si.memmap_paddr + i * 24) };
            let region = MemRegion {
                start: e.addr,
                len: e.size,
                kind: MemKind::from_e820(e.kind),
            };
            if info.memory.try_push(region).is_err() {
                info.memory_dropped += 1;
            }
        }
        if si.cmdline_paddr != 0 {
            let mut p = si.cmdline_paddr;
            loop {
                // SAFETY: a NUL-terminated string placed by the loader.
                let b: u8 = unsafe { phys_read(p) };
                if b == 0 {
                    break;
                }
                let c = if b.is_ascii() { b as char } else { '?' };
                if info.cmdline.try_push(c).is_err() {
                    info.cmdline_truncated = true;
                    break;
                }
                p += 1;
            }
        }
        if si.nr_modules > 0 && si.modlist_paddr != 0 {
            // SAFETY: module list with nr_modules entries; module 0 is the initrd.
            let m: HvmModlistEntry = unsafe { phys_read(si.modlist_paddr) };
            if m.size > 0 {
                info.initrd = Some((m.paddr, m.size));
            }
        }
        info.rsdp = si.rsdp_paddr;
    }
    // Linker-script symbols: only their addresses are used.
    let (ks, ke) = (
        core::ptr::addr_of!(__kernel_start) as u64 - KERNEL_BASE,
        core::ptr::addr_of!(__kernel_end) as u64 - KERNEL_BASE,
    );
    info.kernel_phys = (ks, ke);
    // SAFETY: single-threaded boot; BOOT_INFO is written once here and only read after.
    let info: &'static BootInfo = unsafe {
        let slot = &mut *core::ptr::addr_of_mut!(BOOT_INFO);
        slot.insert(info)
    };
    // SAFETY: the kernel crate defines writ_kernel_main with exactly this signature.
    unsafe { writ_kernel_main(info) }
}
