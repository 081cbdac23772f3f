//! [`FakeUserMemory`]: a process address space for host tests.
//!
//! Pages are mapped explicitly with read/write permissions; everything else faults.
//! Copies check every page first and then transfer, so a failed copy changes nothing,
//! which makes the "no half-done state after an error" rule testable.

use super::{UserMemory, PAGE_SIZE, USER_END};
use crate::abi::Errno;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// Access rights of a fake page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
}

impl Prot {
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
    };
    pub const READ: Prot = Prot {
        read: true,
        write: false,
    };
    pub const READ_WRITE: Prot = Prot {
        read: true,
        write: true,
    };
}

struct Page {
    data: Vec<u8>,
    prot: Prot,
}

/// A sparse map of 4 KiB pages with permissions.
#[derive(Default)]
pub struct FakeUserMemory {
    pages: BTreeMap<u64, Page>,
}

/// Page numbers touched by `[addr, addr + len)`; EFAULT if the range wraps or leaves
/// user space.
fn pages_of(addr: u64, len: u64) -> Result<core::ops::Range<u64>, Errno> {
    let end = addr
        .checked_add(len)
        .filter(|&e| e <= USER_END)
        .ok_or(Errno::EFAULT)?;
    Ok(addr / PAGE_SIZE..end.div_ceil(PAGE_SIZE))
}

impl FakeUserMemory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps zero-filled pages covering `[addr, addr + len)` (pages already mapped keep
    /// their contents and take the new permissions).
    pub fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        for page in pages_of(addr, len)? {
            self.pages
                .entry(page)
                .and_modify(|p| p.prot = prot)
                .or_insert_with(|| Page {
                    data: vec![0; PAGE_SIZE as usize],
                    prot,
                });
        }
        Ok(())
    }

    /// Unmaps every page touching `[addr, addr + len)`.
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        for page in pages_of(addr, len)? {
            self.pages.remove(&page);
        }
        Ok(())
    }

    /// Changes the permissions of mapped pages in the range (unmapped ones stay so).
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        for page in pages_of(addr, len)? {
            if let Some(p) = self.pages.get_mut(&page) {
                p.prot = prot;
            }
        }
        Ok(())
    }

    /// Whether the byte at `addr` is mapped.
    pub fn is_mapped(&self, addr: u64) -> bool {
        self.pages.contains_key(&(addr / PAGE_SIZE))
    }

    /// Checks the whole range is mapped with `allowed(prot)` before anything moves.
    fn check(&self, addr: u64, len: u64, allowed: fn(Prot) -> bool) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        for page in pages_of(addr, len)? {
            match self.pages.get(&page) {
                Some(p) if allowed(p.prot) => {}
                _ => return Err(Errno::EFAULT),
            }
        }
        Ok(())
    }

    /// Calls `f(page_offset_in_buf, page, offset_in_page, n)` for each piece of the
    /// range; the range must have been checked.
    fn pieces(addr: u64, len: usize, mut f: impl FnMut(usize, u64, usize, usize)) {
        let mut done = 0usize;
        while done < len {
            let at = addr + done as u64;
            let in_page = (at % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - in_page).min(len - done);
            f(done, at / PAGE_SIZE, in_page, n);
            done += n;
        }
    }

    fn copy_in(&self, addr: u64, buf: &mut [u8]) {
        let len = buf.len();
        Self::pieces(addr, len, |done, page, off, n| {
            if let Some(p) = self.pages.get(&page) {
                buf[done..done + n].copy_from_slice(&p.data[off..off + n]);
            }
        });
    }

    fn copy_out(&mut self, addr: u64, data: &[u8]) {
        let pages = &mut self.pages;
        Self::pieces(addr, data.len(), |done, page, off, n| {
            if let Some(p) = pages.get_mut(&page) {
                p.data[off..off + n].copy_from_slice(&data[done..done + n]);
            }
        });
    }

    /// Test set-up: writes regardless of permissions (but EFAULT if unmapped).
    pub fn poke(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.check(addr, data.len() as u64, |_| true)?;
        self.copy_out(addr, data);
        Ok(())
    }

    /// Test inspection: reads regardless of permissions (but EFAULT if unmapped).
    pub fn peek(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        self.check(addr, len as u64, |_| true)?;
        let mut buf = vec![0; len];
        self.copy_in(addr, &mut buf);
        Ok(buf)
    }
}

impl UserMemory for FakeUserMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.check(addr, buf.len() as u64, |p| p.read)?;
        self.copy_in(addr, buf);
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.check(addr, data.len() as u64, |p| p.write)?;
        self.copy_out(addr, data);
        Ok(())
    }
}
