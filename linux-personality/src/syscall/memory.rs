//! Memory calls: the argument checks Linux makes before touching page tables, then
//! the kernel's mapping operations.

use super::{Kernel, Prot, SysResult};
use crate::abi::Errno;
use crate::uaccess::{PAGE_SIZE, USER_END};

const PROT_READ: u64 = 1;
const PROT_WRITE: u64 = 2;
const PROT_EXEC: u64 = 4;
const PROT_GROWSDOWN: u64 = 0x0100_0000;
const PROT_GROWSUP: u64 = 0x0200_0000;

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_TYPE: u64 = 0x0f;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;

fn prot_of(p: u64) -> Result<Prot, Errno> {
    if p & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Prot {
        read: p & PROT_READ != 0,
        write: p & PROT_WRITE != 0,
        exec: p & PROT_EXEC != 0,
    })
}

pub fn mmap<K: Kernel>(
    k: &mut K,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    off: u64,
) -> SysResult {
    if off % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(PAGE_SIZE - 1).ok_or(Errno::ENOMEM)? & !(PAGE_SIZE - 1);
    match flags & MAP_TYPE {
        MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE => {}
        _ => return Err(Errno::EINVAL),
    }
    let p = prot_of(prot)?;
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    if fixed && addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    if len > USER_END || (fixed && addr.checked_add(len).is_none_or(|e| e > USER_END)) {
        return Err(Errno::ENOMEM);
    }
    if flags & MAP_ANONYMOUS == 0 {
        let data = file_bytes(k, fd, off, len, flags & MAP_TYPE != MAP_PRIVATE && p.write)?;
        return k.mmap_anon(addr, len, p, fixed, &data);
    }
    k.mmap_anon(addr, len, p, fixed, &[])
}

/// The bytes a file mapping starts with: `len` bytes of the file from `off` (zeros
/// past its end). Private mappings are copies by definition; a shared mapping that can
/// be written would need its pages to be the file's own, which tmpfs does not keep
/// yet, so that case is ENODEV (as Linux answers for a file system that cannot map).
fn file_bytes<K: Kernel>(
    k: &mut K,
    fd: u64,
    off: u64,
    len: u64,
    shared_write: bool,
) -> Result<alloc::vec::Vec<u8>, Errno> {
    use crate::file::flags::{O_ACCMODE, O_RDWR, O_WRONLY};
    let f = k.with_caps(|sys, t| t.get(sys, fd as i32 as i64, caps::Rights::empty()))?;
    let mode = f.status() & O_ACCMODE;
    if mode == O_WRONLY || (shared_write && mode != O_RDWR) {
        return Err(Errno::EACCES);
    }
    if !f.ops.seekable() {
        return Err(Errno::ENODEV);
    }
    if shared_write {
        return Err(Errno::ENODEV);
    }
    let size = f.ops.stat().size;
    let want = size.saturating_sub(off).min(len) as usize;
    let mut data = alloc::vec![0u8; want];
    let mut done = 0;
    while done < want {
        let n = f.ops.read(off + done as u64, &mut data[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    data.truncate(done);
    Ok(data)
}

pub fn munmap<K: Kernel>(k: &mut K, addr: u64, len: u64) -> SysResult {
    if addr % PAGE_SIZE != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(PAGE_SIZE - 1).ok_or(Errno::EINVAL)? & !(PAGE_SIZE - 1);
    if addr.checked_add(len).is_none_or(|e| e > USER_END) {
        return Err(Errno::EINVAL);
    }
    k.munmap(addr, len).map(|_| 0)
}

pub fn mprotect<K: Kernel>(k: &mut K, addr: u64, len: u64, prot: u64) -> SysResult {
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let p = prot_of(prot)?;
    if len == 0 {
        return Ok(0);
    }
    let len = len.checked_add(PAGE_SIZE - 1).ok_or(Errno::ENOMEM)? & !(PAGE_SIZE - 1);
    if addr.checked_add(len).is_none_or(|e| e > USER_END) {
        return Err(Errno::ENOMEM);
    }
    k.mprotect(addr, len, p).map(|_| 0)
}

pub fn arch_prctl<K: Kernel>(k: &mut K, code: u64, addr: u64) -> SysResult {
    match code {
        ARCH_SET_FS => {
            if addr >= USER_END {
                return Err(Errno::EPERM);
            }
            k.set_fs_base(addr);
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = k.fs_base();
            k.mem().write(addr, &v.to_le_bytes())?;
            Ok(0)
        }
        // %gs is the kernel's per-CPU register on entry; user GS base is not kept yet.
        ARCH_SET_GS | ARCH_GET_GS => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}

const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;
const MREMAP_DONTUNMAP: u64 = 4;

pub fn mremap<K: Kernel>(
    k: &mut K,
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
) -> SysResult {
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 || old % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        // Leaving the old range mapped while moving its pages needs VMAs.
        return Err(Errno::EINVAL);
    }
    let round = |l: u64| l.checked_add(PAGE_SIZE - 1).map(|v| v & !(PAGE_SIZE - 1));
    let old_len = round(old_len).ok_or(Errno::EINVAL)?;
    let new_len = round(new_len).ok_or(Errno::EINVAL)?;
    if new_len == 0 || old_len == 0 {
        // old_len 0 duplicates a shared mapping on Linux; there are none to duplicate.
        return Err(Errno::EINVAL);
    }
    if new_len > USER_END || old.checked_add(old_len).is_none_or(|e| e > USER_END) {
        return Err(Errno::EINVAL);
    }
    let fixed = if flags & MREMAP_FIXED != 0 {
        if new_addr % PAGE_SIZE != 0 || new_addr.checked_add(new_len).is_none_or(|e| e > USER_END) {
            return Err(Errno::EINVAL);
        }
        // The new range may not overlap the old one.
        if new_addr < old + old_len && old < new_addr + new_len {
            return Err(Errno::EINVAL);
        }
        Some(new_addr)
    } else {
        None
    };
    k.mremap(old, old_len, new_len, flags & MREMAP_MAYMOVE != 0, fixed)
}
