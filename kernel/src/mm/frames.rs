//! The physical frame allocator: a bitmap over the usable E820 regions, one bit per
//! 4 KiB frame (1 = free). Contiguous runs are found by scanning, which the heap uses to
//! grow in large chunks. The bitmap is static so it works before the heap exists.

use spin::Mutex;
use writ_boot::{BootInfo, MemKind};

use super::PAGE_SIZE;

/// Highest physical address the allocator manages; RAM above it is ignored (reported).
pub const MAX_PHYS: u64 = 64 << 30;
const MAX_FRAMES: usize = (MAX_PHYS / PAGE_SIZE) as usize;
const WORDS: usize = MAX_FRAMES / 64;

/// Frames below 1 MiB stay with the firmware (BIOS data, option ROMs, start info).
const LOW_RESERVED: u64 = 1 << 20;

pub struct FrameAllocator {
    bits: [u64; WORDS],
    /// Word index where the next single-frame search starts.
    hint: usize,
    free: u64,
    total: u64,
    ignored_bytes: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct FrameStats {
    pub free: u64,
    pub total: u64,
    pub ignored_bytes: u64,
}

static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator {
    bits: [0; WORDS],
    hint: 0,
    free: 0,
    total: 0,
    ignored_bytes: 0,
});

impl FrameAllocator {
    fn set_free(&mut self, frame: usize) {
        let (w, b) = (frame / 64, frame % 64);
        if self.bits[w] & (1 << b) == 0 {
            self.bits[w] |= 1 << b;
            self.free += 1;
        }
    }

    fn set_used(&mut self, frame: usize) {
        let (w, b) = (frame / 64, frame % 64);
        if self.bits[w] & (1 << b) != 0 {
            self.bits[w] &= !(1 << b);
            self.free -= 1;
        }
    }

    fn is_free(&self, frame: usize) -> bool {
        self.bits[frame / 64] & (1 << (frame % 64)) != 0
    }

    fn alloc_one(&mut self) -> Option<usize> {
        for i in 0..WORDS {
            let w = (self.hint + i) % WORDS;
            if self.bits[w] != 0 {
                let frame = w * 64 + self.bits[w].trailing_zeros() as usize;
                self.set_used(frame);
                self.hint = w;
                return Some(frame);
            }
        }
        None
    }

    /// First fit for `n` contiguous frames whose first frame is a multiple of `align`.
    fn alloc_run(&mut self, n: usize, align: usize) -> Option<usize> {
        let mut start = 0;
        while start + n <= MAX_FRAMES {
            if self.bits[start / 64] == 0 && start % 64 == 0 {
                start += 64;
                continue;
            }
            match (start..start + n).find(|&f| !self.is_free(f)) {
                None => {
                    for f in start..start + n {
                        self.set_used(f);
                    }
                    return Some(start);
                }
                Some(busy) => start = (busy + 1).next_multiple_of(align),
            }
        }
        None
    }
}

pub fn init(info: &BootInfo) {
    let mut fa = FRAMES.lock();
    for r in info.memory.iter().filter(|r| r.kind == MemKind::Usable) {
        let start = r.start.max(LOW_RESERVED).next_multiple_of(PAGE_SIZE);
        let end = (r.start + r.len) & !(PAGE_SIZE - 1);
        if end > MAX_PHYS {
            fa.ignored_bytes += end - end.min(MAX_PHYS).max(start);
        }
        let end = end.min(MAX_PHYS);
        let mut p = start;
        while p < end {
            fa.set_free((p / PAGE_SIZE) as usize);
            fa.total += 1;
            p += PAGE_SIZE;
        }
    }
    let mut reserve = |start: u64, end: u64| {
        let mut p = start & !(PAGE_SIZE - 1);
        while p < end.min(MAX_PHYS) {
            fa.set_used((p / PAGE_SIZE) as usize);
            p += PAGE_SIZE;
        }
    };
    reserve(info.kernel_phys.0, info.kernel_phys.1);
    if let Some((start, len)) = info.initrd {
        reserve(start, start + len);
    }
    reserve(info.start_info, info.start_info + PAGE_SIZE);
}

/// One free frame's physical address.
pub fn alloc() -> Option<u64> {
    FRAMES.lock().alloc_one().map(|f| f as u64 * PAGE_SIZE)
}

/// A zeroed frame (through the direct map).
pub fn alloc_zeroed() -> Option<u64> {
    let p = alloc()?;
    // SAFETY: the frame was free, so nothing else refers to it; the direct map covers it.
    unsafe { core::ptr::write_bytes(super::phys_to_virt(p) as *mut u8, 0, PAGE_SIZE as usize) };
    Some(p)
}

/// `n` physically contiguous frames, aligned to `align` frames.
pub fn alloc_contiguous(n: usize, align: usize) -> Option<u64> {
    FRAMES
        .lock()
        .alloc_run(n, align.max(1))
        .map(|f| f as u64 * PAGE_SIZE)
}

/// Extra references to frames shared copy-on-write (absent = one owner). Sparse:
/// only frames shared by fork are here.
static SHARED: Mutex<alloc::collections::BTreeMap<u64, u32>> =
    Mutex::new(alloc::collections::BTreeMap::new());

/// One more owner of `phys` (fork sharing a page).
pub fn share(phys: u64) {
    *SHARED.lock().entry(phys).or_insert(0) += 1;
}

/// Whether `phys` has more than one owner.
pub fn is_shared(phys: u64) -> bool {
    SHARED.lock().contains_key(&phys)
}

/// Drops one owner of a frame; the last owner returns it. Freeing a frame that is
/// already free is a kernel bug.
pub fn free(phys: u64) {
    {
        let mut sh = SHARED.lock();
        if let Some(n) = sh.get_mut(&phys) {
            *n -= 1;
            if *n == 0 {
                sh.remove(&phys);
            }
            return;
        }
    }
    let mut fa = FRAMES.lock();
    let frame = (phys / PAGE_SIZE) as usize;
    assert!(!fa.is_free(frame), "frames: double free of {phys:#x}");
    fa.set_free(frame);
}

pub fn stats() -> FrameStats {
    let fa = FRAMES.lock();
    FrameStats {
        free: fa.free,
        total: fa.total,
        ignored_bytes: fa.ignored_bytes,
    }
}
