//! User address spaces: one PML4 per process whose upper half is the kernel's (shared
//! page directories, so kernel mappings stay identical everywhere) and whose lower half
//! maps the process's pages with 4 KiB entries.
//!
//! The page table is the record of what is mapped; a leaf entry is in one of four
//! states, told apart by the hardware PRESENT bit and two software bits:
//!
//! | state    | PRESENT | bits        | meaning                                          |
//! |----------|---------|-------------|--------------------------------------------------|
//! | resident | 1       | (COW)       | a frame; COW: writable once copied               |
//! | lazy     | 0       | LAZY        | mapped, no frame yet: zero-filled on first touch |
//! | no access| 0       | NOACCESS    | PROT_NONE; keeps its frame (if any) for later    |
//! | unmapped | 0       | none        |                                                  |
//!
//! Not-present entries keep the protection bits they will have once resident, so
//! mprotect and faults need no other record. Anonymous memory is lazy (mmap and brk
//! cost page tables, not frames), fork shares frames copy-on-write.
//!
//! The kernel never dereferences user addresses: [`AddressSpace::translate`] turns a
//! user page into its frame (after [`AddressSpace::fault_in`] for lazy and COW pages),
//! and copies go through the direct map (see `uaccess`).

use alloc::vec::Vec;

use super::{frames, paging, phys_to_virt, PAGE_SIZE};

pub const USER_TOP: u64 = 0x0000_8000_0000_0000;

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const HUGE: u64 = 1 << 7;
/// Software: the user may write, but the frame may be shared; the first write copies
/// it (mapped without WRITABLE meanwhile).
const COW: u64 = 1 << 9;
/// Software, not present: mapped; a zeroed frame comes on first touch.
const LAZY: u64 = 1 << 10;
/// Software, not present: PROT_NONE; the address field holds the frame, or 0.
const NOACCESS: u64 = 1 << 11;
const NO_EXECUTE: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// The protection part of an entry.
const PROT_MASK: u64 = WRITABLE | USER | NO_EXECUTE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const RW: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    /// PROT_NONE (x86 cannot express write- or exec-only: those imply read, as on Linux).
    fn none(self) -> bool {
        !self.read && !self.write && !self.exec
    }

    /// The entry bits for this protection, without PRESENT.
    fn bits(self) -> u64 {
        let mut b = USER;
        if self.write {
            b |= WRITABLE;
        }
        if !self.exec {
            b |= NO_EXECUTE;
        }
        b
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmError {
    OutOfMemory,
    NotUser,
    AlreadyMapped,
}

#[derive(Clone, Copy, Debug)]
pub struct Translation {
    pub phys: u64,
    pub writable: bool,
}

pub struct AddressSpace {
    pml4: u64,
    /// Resident user pages (frames mapped), for accounting.
    pages: usize,
}

fn table(phys: u64) -> *mut u64 {
    phys_to_virt(phys) as *mut u64
}

fn entry(table_phys: u64, index: usize) -> u64 {
    // SAFETY: `table_phys` is a page-table frame owned by this address space or the
    // kernel; index < 512.
    unsafe { table(table_phys).add(index).read() }
}

fn set_entry(table_phys: u64, index: usize, v: u64) {
    // SAFETY: as in `entry`; only this address space's lower-half tables are written.
    unsafe { table(table_phys).add(index).write(v) }
}

fn indices(va: u64) -> [usize; 4] {
    [
        ((va >> 39) & 511) as usize,
        ((va >> 30) & 511) as usize,
        ((va >> 21) & 511) as usize,
        ((va >> 12) & 511) as usize,
    ]
}

fn is_mapped(e: u64) -> bool {
    e & (PRESENT | LAZY | NOACCESS) != 0
}

/// The frame an entry owns (resident, or kept by a PROT_NONE entry), if any.
fn owned_frame(e: u64) -> Option<u64> {
    if e & PRESENT != 0 || (e & NOACCESS != 0 && e & ADDR_MASK != 0) {
        Some(e & ADDR_MASK)
    } else {
        None
    }
}

fn live_root() -> u64 {
    x86_64::registers::control::Cr3::read_raw()
        .0
        .start_address()
        .as_u64()
}

impl AddressSpace {
    pub fn new() -> Result<Self, VmError> {
        let pml4 = frames::alloc_zeroed().ok_or(VmError::OutOfMemory)?;
        let kernel = paging::kernel_pml4();
        for i in 256..512 {
            set_entry(pml4, i, entry(kernel, i));
        }
        Ok(AddressSpace { pml4, pages: 0 })
    }

    pub fn cr3(&self) -> u64 {
        self.pml4
    }

    /// Resident pages (for /proc and the debug console).
    #[allow(dead_code)] // /proc/PID/status and the debug console
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The leaf entry for `va`, creating intermediate tables when `create`.
    fn leaf(&mut self, va: u64, create: bool) -> Result<Option<(u64, usize)>, VmError> {
        if va >= USER_TOP {
            return Err(VmError::NotUser);
        }
        let idx = indices(va);
        let mut t = self.pml4;
        for &i in &idx[..3] {
            let e = entry(t, i);
            if e & PRESENT == 0 {
                if !create {
                    return Ok(None);
                }
                let new = frames::alloc_zeroed().ok_or(VmError::OutOfMemory)?;
                set_entry(t, i, new | PRESENT | WRITABLE | USER);
                t = new;
            } else {
                debug_assert!(e & HUGE == 0, "no huge pages in user space");
                t = e & ADDR_MASK;
            }
        }
        Ok(Some((t, idx[3])))
    }

    fn leaf_entry(&self, va: u64) -> Option<u64> {
        if va >= USER_TOP {
            return None;
        }
        let idx = indices(va);
        let mut t = self.pml4;
        for &i in &idx[..3] {
            let e = entry(t, i);
            if e & PRESENT == 0 {
                return None;
            }
            t = e & ADDR_MASK;
        }
        Some(entry(t, idx[3]))
    }

    /// Whether anything is mapped at `va` (resident, lazy or PROT_NONE).
    pub fn is_mapped(&self, va: u64) -> bool {
        self.leaf_entry(va).is_some_and(is_mapped)
    }

    /// Maps the frame `phys` at `va`; the address space owns the frame from now on.
    pub fn map(&mut self, va: u64, phys: u64, prot: Prot) -> Result<(), VmError> {
        let (t, i) = self.leaf(va, true)?.expect("created");
        if is_mapped(entry(t, i)) {
            return Err(VmError::AlreadyMapped);
        }
        if prot.none() {
            set_entry(t, i, phys | NOACCESS | Prot::RW.bits());
        } else {
            set_entry(t, i, phys | PRESENT | prot.bits());
            self.pages += 1;
        }
        Ok(())
    }

    /// Maps a fresh zeroed frame at `va` and returns its physical address.
    pub fn map_zeroed(&mut self, va: u64, prot: Prot) -> Result<u64, VmError> {
        let phys = frames::alloc_zeroed().ok_or(VmError::OutOfMemory)?;
        if let Err(e) = self.map(va, phys, prot) {
            frames::free(phys);
            return Err(e);
        }
        Ok(phys)
    }

    /// Maps `va` without a frame: zero-filled on first touch (PROT_NONE: reserved).
    pub fn map_lazy(&mut self, va: u64, prot: Prot) -> Result<(), VmError> {
        let (t, i) = self.leaf(va, true)?.expect("created");
        if is_mapped(entry(t, i)) {
            return Err(VmError::AlreadyMapped);
        }
        let e = if prot.none() {
            NOACCESS | Prot::RW.bits()
        } else {
            LAZY | prot.bits()
        };
        set_entry(t, i, e);
        Ok(())
    }

    /// The protection of the mapping at `va` (for growing it alike).
    pub fn prot_of(&self, va: u64) -> Option<Prot> {
        let e = self.leaf_entry(va).filter(|e| is_mapped(*e))?;
        if e & NOACCESS != 0 {
            return Some(Prot {
                read: false,
                write: false,
                exec: false,
            });
        }
        Some(Prot {
            read: true,
            write: e & (WRITABLE | COW) != 0,
            exec: e & NO_EXECUTE == 0,
        })
    }

    /// Moves whatever is mapped at `from` (frame and state) to the unmapped `to`.
    pub fn move_page(&mut self, from: u64, to: u64) -> Result<(), VmError> {
        let Ok(Some((t, i))) = self.leaf(from, false) else {
            return Ok(());
        };
        let e = entry(t, i);
        if !is_mapped(e) {
            return Ok(());
        }
        let (t2, i2) = self.leaf(to, true)?.expect("created");
        if is_mapped(entry(t2, i2)) {
            return Err(VmError::AlreadyMapped);
        }
        // Page tables never move, so (t, i) stays valid while tables for `to` are made.
        set_entry(t2, i2, e);
        set_entry(t, i, 0);
        self.flush(from);
        Ok(())
    }

    /// Removes the mapping at `va`, dropping its frame. Returns whether one existed.
    pub fn unmap(&mut self, va: u64) -> bool {
        let Ok(Some((t, i))) = self.leaf(va, false) else {
            return false;
        };
        let e = entry(t, i);
        if !is_mapped(e) {
            return false;
        }
        set_entry(t, i, 0);
        if let Some(f) = owned_frame(e) {
            frames::free(f);
        }
        if e & PRESENT != 0 {
            self.pages -= 1;
        }
        self.flush(va);
        true
    }

    /// Changes the protection of an existing mapping (resident, lazy or PROT_NONE).
    /// Making a shared frame writable makes it copy-on-write instead.
    pub fn protect(&mut self, va: u64, prot: Prot) -> bool {
        let Ok(Some((t, i))) = self.leaf(va, false) else {
            return false;
        };
        let e = entry(t, i);
        if !is_mapped(e) {
            return false;
        }
        let frame = owned_frame(e);
        let new = match (frame, prot.none()) {
            (Some(f), true) => {
                if e & PRESENT != 0 {
                    self.pages -= 1;
                }
                f | NOACCESS | Prot::RW.bits()
            }
            (None, true) => NOACCESS | Prot::RW.bits(),
            (None, false) => LAZY | prot.bits(),
            (Some(f), false) => {
                if e & PRESENT == 0 {
                    self.pages += 1;
                }
                let mut bits = PRESENT | prot.bits();
                if prot.write && frames::is_shared(f) {
                    bits = (bits & !WRITABLE) | COW;
                }
                f | bits
            }
        };
        set_entry(t, i, new);
        self.flush(va);
        true
    }

    /// Makes `va` resident for an access (`write` or not): a lazy page gets a zeroed
    /// frame, a copy-on-write page its own copy. Ok(false) means the access is not
    /// allowed (unmapped, PROT_NONE, or a write to a read-only page): a real fault.
    pub fn fault_in(&mut self, va: u64, write: bool) -> Result<bool, VmError> {
        let va = va & !(PAGE_SIZE - 1);
        let Ok(Some((t, i))) = self.leaf(va, false) else {
            return Ok(false);
        };
        let e = entry(t, i);
        if e & LAZY != 0 && e & PRESENT == 0 {
            if write && e & WRITABLE == 0 {
                return Ok(false);
            }
            let f = frames::alloc_zeroed().ok_or(VmError::OutOfMemory)?;
            set_entry(t, i, f | PRESENT | (e & PROT_MASK));
            self.pages += 1;
            return Ok(true);
        }
        if e & PRESENT == 0 {
            return Ok(false);
        }
        if !write || e & WRITABLE != 0 {
            return Ok(true);
        }
        if e & COW == 0 {
            return Ok(false);
        }
        let old = e & ADDR_MASK;
        let flags = (e & !ADDR_MASK & !COW) | WRITABLE;
        if frames::is_shared(old) {
            let new = frames::alloc().ok_or(VmError::OutOfMemory)?;
            // SAFETY: both frames through the direct map; `new` is ours alone.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    phys_to_virt(old) as *const u8,
                    phys_to_virt(new) as *mut u8,
                    PAGE_SIZE as usize,
                )
            };
            set_entry(t, i, new | flags);
            frames::free(old);
        } else {
            set_entry(t, i, old | flags);
        }
        self.flush(va);
        Ok(true)
    }

    /// The frame behind a resident user page (None for anything not resident).
    pub fn translate(&self, va: u64) -> Option<Translation> {
        let e = self.leaf_entry(va)?;
        if e & PRESENT == 0 || e & USER == 0 {
            return None;
        }
        Some(Translation {
            phys: (e & ADDR_MASK) + (va & (PAGE_SIZE - 1)),
            writable: e & WRITABLE != 0,
        })
    }

    /// fork: the child maps the same frames. Writable pages become copy-on-write in
    /// both spaces (the first write to either side copies); read-only and PROT_NONE
    /// pages are simply shared, lazy ones stay lazy. Page tables are the child's own.
    /// On failure nothing of the new space survives.
    pub fn fork_copy(&mut self) -> Result<AddressSpace, VmError> {
        let mut child = AddressSpace::new()?;
        let mut changed_parent = false;
        let mut result = Ok(());
        self.for_each_leaf(|va, pt, i1, e| {
            if result.is_err() {
                return;
            }
            let (t, i) = match child.leaf(va, true) {
                Ok(Some(l)) => l,
                _ => {
                    result = Err(VmError::OutOfMemory);
                    return;
                }
            };
            let mut e = e;
            if e & PRESENT != 0 && e & (WRITABLE | COW) != 0 {
                e = (e & !WRITABLE) | COW;
                set_entry(pt, i1, e);
                changed_parent = true;
            }
            if let Some(f) = owned_frame(e) {
                frames::share(f);
            }
            if e & PRESENT != 0 {
                child.pages += 1;
            }
            set_entry(t, i, e);
        });
        // The parent's writable entries just lost WRITABLE: drop its stale TLB entries.
        if changed_parent {
            self.flush_all();
        }
        result.map(|_| child)
    }

    /// The mapped ranges, lowest first, adjacent pages of the same protection merged:
    /// (start, end, protection). For /proc/PID/maps and the VM sizes in status.
    pub fn regions(&self) -> Vec<(u64, u64, Prot)> {
        let mut out: Vec<(u64, u64, Prot)> = Vec::new();
        self.for_each_leaf(|va, _, _, e| {
            let prot = if e & NOACCESS != 0 {
                Prot {
                    read: false,
                    write: false,
                    exec: false,
                }
            } else {
                Prot {
                    read: true,
                    write: e & (WRITABLE | COW) != 0,
                    exec: e & NO_EXECUTE == 0,
                }
            };
            match out.last_mut() {
                Some(last) if last.1 == va && last.2 == prot => last.1 = va + PAGE_SIZE,
                _ => out.push((va, va + PAGE_SIZE, prot)),
            }
        });
        out
    }

    /// Calls `f(va, table, index, entry)` for every mapped leaf entry.
    fn for_each_leaf(&self, mut f: impl FnMut(u64, u64, usize, u64)) {
        let pml4 = self.pml4;
        for i4 in 0..256usize {
            let e4 = entry(pml4, i4);
            if e4 & PRESENT == 0 {
                continue;
            }
            for i3 in 0..512usize {
                let e3 = entry(e4 & ADDR_MASK, i3);
                if e3 & PRESENT == 0 {
                    continue;
                }
                for i2 in 0..512usize {
                    let e2 = entry(e3 & ADDR_MASK, i2);
                    if e2 & PRESENT == 0 {
                        continue;
                    }
                    let pt = e2 & ADDR_MASK;
                    for i1 in 0..512usize {
                        let e1 = entry(pt, i1);
                        if is_mapped(e1) {
                            let va = ((i4 as u64) << 39)
                                | ((i3 as u64) << 30)
                                | ((i2 as u64) << 21)
                                | ((i1 as u64) << 12);
                            f(va, pt, i1, e1);
                        }
                    }
                }
            }
        }
    }

    fn flush_all(&self) {
        if live_root() == self.pml4 {
            // SAFETY: reloading the live root flushes non-global TLB entries only.
            unsafe { load_cr3(self.pml4) };
        }
    }

    fn flush(&self, va: u64) {
        if live_root() == self.pml4 {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
        }
    }

    /// Frees every user page and lower-half table; the kernel half is shared, untouched.
    fn free_lower_half(&mut self) {
        self.for_each_leaf(|_, _, _, e| {
            if let Some(f) = owned_frame(e) {
                frames::free(f);
            }
        });
        let pml4 = self.pml4;
        for i4 in 0..256 {
            let e4 = entry(pml4, i4);
            if e4 & PRESENT == 0 {
                continue;
            }
            let pdpt = e4 & ADDR_MASK;
            for i3 in 0..512 {
                let e3 = entry(pdpt, i3);
                if e3 & PRESENT == 0 {
                    continue;
                }
                let pd = e3 & ADDR_MASK;
                for i2 in 0..512 {
                    let e2 = entry(pd, i2);
                    if e2 & PRESENT != 0 {
                        frames::free(e2 & ADDR_MASK);
                    }
                }
                frames::free(pd);
            }
            frames::free(pdpt);
            set_entry(pml4, i4, 0);
        }
        self.pages = 0;
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // The address space must not be live in CR3 while its tables are freed.
        if live_root() == self.pml4 {
            // SAFETY: the kernel PML4 maps everything the kernel needs.
            unsafe { load_cr3(paging::kernel_pml4()) };
        }
        self.free_lower_half();
        frames::free(self.pml4);
    }
}

/// # Safety
/// `pml4` must be a valid top-level table whose upper half is the kernel's.
pub unsafe fn load_cr3(pml4: u64) {
    use x86_64::registers::control::{Cr3, Cr3Flags};
    use x86_64::structures::paging::PhysFrame;
    Cr3::write(
        PhysFrame::containing_address(x86_64::PhysAddr::new(pml4)),
        Cr3Flags::empty(),
    );
}
