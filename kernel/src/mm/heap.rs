//! The kernel heap: the `talc` allocator behind an interrupt-safe spin lock. It starts
//! empty and grows on demand by claiming physically contiguous runs of frames from
//! [`super::frames`] through the direct map, so the heap is as large as memory allows
//! without reserving it up front.

use core::alloc::Layout;

use talc::{OomHandler, Span, Talc, Talck};

use super::{frames, phys_to_virt, PAGE_SIZE};
use crate::sync::IrqSpin;

/// Smallest growth step: fewer, larger claims keep fragmentation down.
const GROW_MIN: usize = 2 << 20;

pub struct GrowFromFrames;

impl OomHandler for GrowFromFrames {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let want = (layout.size() + layout.align() + 4096).max(GROW_MIN);
        let n = want.div_ceil(PAGE_SIZE as usize);
        let phys = frames::alloc_contiguous(n, 1).ok_or(())?;
        let base = phys_to_virt(phys) as *mut u8;
        let span = Span::from_base_size(base, n * PAGE_SIZE as usize);
        // SAFETY: the frames were free and are now owned by the heap forever; the direct
        // map makes them addressable at `base`.
        unsafe { talc.claim(span).map(|_| ()) }
    }
}

#[global_allocator]
static ALLOCATOR: Talck<IrqSpin, GrowFromFrames> = Talc::new(GrowFromFrames).lock();

#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    pub allocated: usize,
    pub claimed: usize,
    pub allocations: usize,
}

pub fn stats() -> HeapStats {
    let talc = ALLOCATOR.lock();
    let c = talc.get_counters();
    HeapStats {
        allocated: c.allocated_bytes,
        claimed: c.claimed_bytes,
        allocations: c.allocation_count,
    }
}

pub fn init() {
    // Touch the heap once so the first growth happens here, visibly, not in a driver.
    let probe = alloc::boxed::Box::new(0u64);
    drop(probe);
    let s = stats();
    log::info!(
        "heap: talc, grows from frames in {} MiB steps, {} KiB claimed",
        GROW_MIN >> 20,
        s.claimed >> 10
    );
}
