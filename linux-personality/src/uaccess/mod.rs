//! User memory as types: the only way syscall code reaches a process's memory.
//!
//! A user pointer is just a number until it is copied through [`UserMemory`], which the
//! kernel implements over the calling process's page tables (with SMAP opened only for
//! the copy) and which answers EFAULT for any address the process cannot access. Syscall
//! code holds [`UserPtr<T>`] (one typed value) and [`UserSlice`] (a byte range); neither
//! can be dereferenced, as in Hubris' `USlice`. Nothing here can fault the kernel: the
//! worst a bad pointer does is make a syscall return EFAULT.
//!
//! The helpers that need more than one copy live here too, so each is written once:
//! [`read_cstring`] (paths, with ENAMETOOLONG), [`read_iovecs`] (`readv`/`writev`, with
//! Linux's limits), [`read_ptr_array`] (NULL-terminated pointer arrays) and
//! [`read_exec_strings`] (`execve`'s argv and envp, with Linux's E2BIG budget).
//!
//! [`FakeUserMemory`] is a sparse page map with permissions that stands in for the
//! kernel in host tests.

mod fake;

pub use fake::{FakeUserMemory, Prot};

use crate::abi::structs::Iovec;
use crate::abi::Errno;
use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// First address above user space (Linux x86_64 `TASK_SIZE_MAX` with 4-level paging);
/// no user range may reach past it.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Page size of user mappings.
pub const PAGE_SIZE: u64 = 4096;
/// Linux's `UIO_MAXIOV`: more iovecs than this is EINVAL.
pub const UIO_MAXIOV: usize = 1024;
/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`): one read or write moves at most this.
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// `PATH_MAX`, NUL included: the usual `max` for [`read_cstring`].
pub const PATH_MAX: usize = 4096;

/// Copy-in and copy-out for one address space; implemented by the kernel.
///
/// Both are all-or-nothing from the caller's point of view: on `Err` the caller must
/// assume nothing useful was transferred. Both return EFAULT for any byte that is
/// unmapped, not accessible in that direction, or not below [`USER_END`].
pub trait UserMemory {
    /// Copies `buf.len()` bytes from user address `addr` into `buf`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Copies `data` to user address `addr`.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno>;
}

/// Plain-data types that may be copied to and from user memory byte for byte
/// (every Linux ABI struct in [`crate::abi::structs`], and the integer types).
pub trait Pod: FromBytes + IntoBytes + Immutable + KnownLayout {}

impl<T: FromBytes + IntoBytes + Immutable + KnownLayout> Pod for T {}

/// EFAULT unless `[addr, addr + len)` lies in user space.
pub fn check_user_range(addr: u64, len: u64) -> Result<(), Errno> {
    match addr.checked_add(len) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Reads one `T` at `addr`.
pub fn read_struct<T: Pod, M: UserMemory + ?Sized>(mem: &M, addr: u64) -> Result<T, Errno> {
    let mut value = T::new_zeroed();
    mem.read(addr, value.as_mut_bytes())?;
    Ok(value)
}

/// Writes one `T` at `addr`.
pub fn write_struct<T: Pod, M: UserMemory + ?Sized>(
    mem: &mut M,
    addr: u64,
    value: &T,
) -> Result<(), Errno> {
    mem.write(addr, value.as_bytes())
}

/// A user-space address of a `T`, e.g. the `struct stat *` argument of `fstat`.
pub struct UserPtr<T> {
    addr: u64,
    _type: PhantomData<fn() -> T>,
}

// Manual impls: deriving would needlessly require `T: Clone` etc.
impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserPtr<T> {}
impl<T> PartialEq for UserPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr
    }
}
impl<T> Eq for UserPtr<T> {}
impl<T> core::fmt::Debug for UserPtr<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UserPtr({:#x})", self.addr)
    }
}

impl<T> UserPtr<T> {
    /// Wraps a raw syscall argument; nothing is checked until it is used.
    pub const fn new(addr: u64) -> Self {
        UserPtr {
            addr,
            _type: PhantomData,
        }
    }

    /// The address.
    pub const fn addr(self) -> u64 {
        self.addr
    }

    /// NULL is often meaningful (an optional argument), so callers test it explicitly.
    pub const fn is_null(self) -> bool {
        self.addr == 0
    }

    /// The pointer `count` elements further on; EFAULT on overflow.
    pub fn offset(self, count: u64) -> Result<Self, Errno> {
        let step = (core::mem::size_of::<T>() as u64)
            .checked_mul(count)
            .ok_or(Errno::EFAULT)?;
        let addr = self.addr.checked_add(step).ok_or(Errno::EFAULT)?;
        Ok(UserPtr::new(addr))
    }
}

impl<T: Pod> UserPtr<T> {
    /// Copies the value in.
    pub fn read<M: UserMemory + ?Sized>(self, mem: &M) -> Result<T, Errno> {
        read_struct(mem, self.addr)
    }

    /// Copies `value` out.
    pub fn write<M: UserMemory + ?Sized>(self, mem: &mut M, value: &T) -> Result<(), Errno> {
        write_struct(mem, self.addr, value)
    }

    /// The same range as bytes.
    pub fn as_slice(self) -> Result<UserSlice, Errno> {
        UserSlice::new(self.addr, core::mem::size_of::<T>() as u64)
    }
}

/// A user-space byte range, e.g. the buffer of `read(fd, buf, count)`. Constructed only
/// for ranges inside user space (EFAULT otherwise); the pages are checked on copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    addr: u64,
    len: u64,
}

impl UserSlice {
    /// EFAULT if the range wraps or leaves user space. An empty range is accepted at
    /// any address (Linux's `access_ok` does the same), and never touched.
    pub fn new(addr: u64, len: u64) -> Result<Self, Errno> {
        if len != 0 {
            check_user_range(addr, len)?;
        }
        Ok(UserSlice { addr, len })
    }

    pub const fn addr(&self) -> u64 {
        self.addr
    }

    pub const fn len(&self) -> u64 {
        self.len
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sub-range `[offset, offset + len)`; EFAULT if it is not inside this one.
    pub fn sub(&self, offset: u64, len: u64) -> Result<UserSlice, Errno> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(UserSlice {
                addr: self.addr + offset,
                len,
            }),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Copies the whole range in. The caller bounds `len` first (e.g. by
    /// [`MAX_RW_COUNT`] or the size of what it will do with it): this allocates it.
    pub fn read_all<M: UserMemory + ?Sized>(&self, mem: &M) -> Result<Vec<u8>, Errno> {
        let len = usize::try_from(self.len).map_err(|_| Errno::EFAULT)?;
        let mut buf = vec![0u8; len];
        self.read_at(mem, 0, &mut buf)?;
        Ok(buf)
    }

    /// Copies `buf.len()` bytes in from `offset` within the range.
    pub fn read_at<M: UserMemory + ?Sized>(
        &self,
        mem: &M,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), Errno> {
        if buf.is_empty() {
            return Ok(());
        }
        let part = self.sub(offset, buf.len() as u64)?;
        mem.read(part.addr, buf)
    }

    /// Copies `data` out to `offset` within the range; EFAULT if it would not fit (the
    /// syscall layer clamps lengths to the user's buffer before getting here).
    pub fn write_at<M: UserMemory + ?Sized>(
        &self,
        mem: &mut M,
        offset: u64,
        data: &[u8],
    ) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        let part = self.sub(offset, data.len() as u64)?;
        mem.write(part.addr, data)
    }
}

/// Reads a NUL-terminated string of at most `max` bytes including the NUL (for a path,
/// `max` is [`PATH_MAX`]), and returns it without the NUL.
///
/// ENAMETOOLONG if no NUL is found within `max` bytes; EFAULT if a byte before the NUL
/// cannot be read. Bytes after the NUL are never touched, so a string that ends just
/// before an unmapped page reads fine, as in Linux's `strncpy_from_user`.
pub fn read_cstring<M: UserMemory + ?Sized>(
    mem: &M,
    addr: u64,
    max: usize,
) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut at = addr;
    let mut chunk = [0u8; 256];
    while out.len() < max {
        // Never read across a page boundary in one copy: the next page may be unmapped
        // even though the string ends on this one.
        let to_page_end = PAGE_SIZE - (at % PAGE_SIZE);
        let want = (max - out.len()).min(chunk.len()).min(to_page_end as usize);
        check_user_range(at, want as u64)?;
        let buf = &mut chunk[..want];
        mem.read(at, buf)?;
        if let Some(nul) = buf.iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(buf);
        at += want as u64;
    }
    Err(Errno::ENAMETOOLONG)
}

/// Reads the `iovec` array of `readv`/`writev` and friends.
///
/// As Linux's `import_iovec`: more than [`UIO_MAXIOV`] entries is EINVAL, a length with
/// the sign bit set is EINVAL, a buffer outside user space is EFAULT, and the total is
/// cut to [`MAX_RW_COUNT`] by shortening the entries that would pass it. Zero-length
/// entries are kept so indices match the caller's array.
pub fn read_iovecs<M: UserMemory + ?Sized>(
    mem: &M,
    addr: u64,
    count: usize,
) -> Result<Vec<UserSlice>, Errno> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![Iovec::default(); count];
    if count > 0 {
        check_user_range(addr, (count * core::mem::size_of::<Iovec>()) as u64)?;
        mem.read(addr, raw.as_mut_slice().as_mut_bytes())?;
    }
    let mut total: u64 = 0;
    let mut slices = Vec::with_capacity(count);
    for iov in raw {
        if iov.iov_len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let len = iov.iov_len.min(MAX_RW_COUNT - total);
        total += len;
        slices.push(UserSlice::new(iov.iov_base, len)?);
    }
    Ok(slices)
}

/// Reads a NULL-terminated array of user pointers (`execve`'s argv or envp), at most
/// `max` entries (E2BIG past that). A NULL `addr` is an empty array, as Linux accepts.
pub fn read_ptr_array<M: UserMemory + ?Sized>(
    mem: &M,
    addr: u64,
    max: usize,
) -> Result<Vec<u64>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut at = UserPtr::<u64>::new(addr);
    loop {
        let p = at.read(mem)?;
        if p == 0 {
            return Ok(out);
        }
        if out.len() == max {
            return Err(Errno::E2BIG);
        }
        out.push(p);
        at = at.offset(1)?;
    }
}

/// Reads `execve`'s argv or envp in full: a NULL-terminated array of pointers to
/// strings, returned without their NULs.
///
/// `budget` is what is left of [`crate::stack::ARG_MAX`]; each string (NUL included)
/// and each pointer is taken from it, so pass the same budget for argv and then envp,
/// as Linux counts them together. E2BIG when a string is longer than
/// [`crate::stack::MAX_ARG_STRLEN`] or the budget runs out; EFAULT on a bad pointer.
/// Memory use is bounded by the budget whatever the user passes.
pub fn read_exec_strings<M: UserMemory + ?Sized>(
    mem: &M,
    addr: u64,
    budget: &mut usize,
) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut at = UserPtr::<u64>::new(addr);
    loop {
        let p = at.read(mem)?;
        if p == 0 {
            return Ok(out);
        }
        *budget = budget.checked_sub(8).ok_or(Errno::E2BIG)?;
        let max = crate::stack::MAX_ARG_STRLEN.min(*budget);
        let s = read_cstring(mem, p, max).map_err(|e| match e {
            Errno::ENAMETOOLONG => Errno::E2BIG,
            other => other,
        })?;
        *budget -= s.len() + 1;
        out.push(s);
        at = at.offset(1)?;
    }
}

#[cfg(test)]
mod tests;
