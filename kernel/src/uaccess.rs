//! The one way the kernel touches user memory. Addresses are translated through the
//! process's page tables and copied through the direct map, page by page, so a bad
//! pointer is `Fault` (EFAULT to the caller), never a kernel page fault, and SMAP can
//! stay on without `stac`/`clac` windows.

use crate::mm::vm::AddressSpace;
use crate::mm::{phys_to_virt, PAGE_SIZE};

/// The user range is unmapped or lacks the needed permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

fn chunks(addr: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let mut done = 0usize;
    core::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let va = addr.wrapping_add(done as u64);
        let in_page = (PAGE_SIZE - (va & (PAGE_SIZE - 1))) as usize;
        let n = in_page.min(len - done);
        let item = (va, done, n);
        done += n;
        Some(item)
    })
}

pub fn copy_from_user(aspace: &mut AddressSpace, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
    if addr.checked_add(buf.len() as u64).is_none() {
        return Err(Fault);
    }
    for (va, off, n) in chunks(addr, buf.len()) {
        // A lazy page is zero-filled on this first touch, as a user access would.
        if aspace.fault_in(va, false) != Ok(true) {
            return Err(Fault);
        }
        let t = aspace.translate(va).ok_or(Fault)?;
        // SAFETY: `t.phys..t.phys+n` lies in one user frame owned by `aspace`, reached
        // through the direct map; `buf` is kernel memory.
        unsafe {
            core::ptr::copy_nonoverlapping(
                phys_to_virt(t.phys) as *const u8,
                buf[off..].as_mut_ptr(),
                n,
            )
        };
    }
    Ok(())
}

pub fn copy_to_user(aspace: &mut AddressSpace, addr: u64, data: &[u8]) -> Result<(), Fault> {
    if addr.checked_add(data.len() as u64).is_none() {
        return Err(Fault);
    }
    // Make the whole range resident and writable first (lazy pages get frames,
    // copy-on-write pages their own copy: the kernel writes through the direct map,
    // past the page tables' protection), so a failed write changes no bytes.
    for (va, _, _) in chunks(addr, data.len()) {
        if aspace.fault_in(va, true) != Ok(true) {
            return Err(Fault);
        }
    }
    for (va, off, n) in chunks(addr, data.len()) {
        let t = aspace.translate(va).ok_or(Fault)?;
        // SAFETY: as in copy_from_user; the page is writable for the user.
        unsafe {
            core::ptr::copy_nonoverlapping(data[off..].as_ptr(), phys_to_virt(t.phys) as *mut u8, n)
        };
    }
    Ok(())
}
