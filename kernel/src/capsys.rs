//! The kernel's one capability system, and the boot-time authority it hands out.
//!
//! At boot the kernel makes CSpace 0 for itself, holding the root Budget every process
//! is charged to (a process's authority CNode gets a copy). The lock is a plain spin
//! lock: interrupt handlers never touch capabilities, and no holder ever blocks.

use caps::{CSpaceId, CapSystem, Slot};
use spin::{Mutex, Once};

static CAPS: Mutex<Option<CapSystem>> = Mutex::new(None);
static ROOT_BUDGET: Once<Slot> = Once::new();
static KERNEL_CSPACE: Once<CSpaceId> = Once::new();

/// Kernel CSpace slot of the NetStack capability with every right (see `net`); slots 1
/// and 2 are left to the debug console (main).
pub const KERNEL_NETSTACK: u32 = 3;

/// Kernel objects may use this much memory on behalf of processes in total (a quarter
/// of RAM, at least 16 MiB). Per-process Budgets split from it come with issue 3's use
/// in the personality.
fn root_budget_bytes() -> u64 {
    let free = crate::mm::frames::stats().free * crate::mm::PAGE_SIZE;
    (free / 4).max(16 << 20)
}

pub fn init() {
    let mut sys = CapSystem::new();
    let cs = sys.create_cspace(None, 4, 0, 0).expect("kernel cspace");
    let root = sys.cap_at(Slot::root(cs)).expect("kernel root cnode");
    let slot = sys.slot_of(&root, 0).expect("slot 0");
    let bytes = root_budget_bytes();
    sys.create_budget(None, slot, bytes).expect("root budget");
    ROOT_BUDGET.call_once(|| slot);
    KERNEL_CSPACE.call_once(|| cs);
    *CAPS.lock() = Some(sys);
    log::info!(
        "caps: kernel CSpace with a root Budget of {} MiB",
        bytes >> 20
    );
}

pub fn root_budget() -> Slot {
    *ROOT_BUDGET.get().expect("caps not initialised")
}

/// The kernel's own CSpace (root Budget in slot 0; the debug console uses slots 1 and 2).
pub fn kernel_cspace() -> CSpaceId {
    *KERNEL_CSPACE.get().expect("caps not initialised")
}

/// Slot `index` of the kernel's root CNode (`sys` is the locked system of [`with`]).
pub fn kernel_slot(sys: &CapSystem, index: u32) -> Option<Slot> {
    let cs = *KERNEL_CSPACE.get()?;
    let root = sys.cap_at(Slot::root(cs))?;
    sys.slot_of(&root, index).ok()
}

pub fn with<R>(f: impl FnOnce(&mut CapSystem) -> R) -> R {
    let mut g = CAPS.lock();
    f(g.as_mut().expect("caps not initialised"))
}
