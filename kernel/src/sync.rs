//! Locks for kernel state. [`IrqMutex`] disables interrupts while held, so state shared
//! with interrupt handlers (scheduler, heap) can never deadlock against the handler on
//! the same CPU. Plain `spin::Mutex` is for state interrupt handlers never touch.

use core::sync::atomic::{AtomicBool, Ordering};

/// A spin lock that also disables interrupts while held, so an interrupt handler on
/// this CPU can never spin on a lock its own interrupted code holds.
pub struct IrqSpin {
    locked: AtomicBool,
    reenable: AtomicBool,
}

// SAFETY: a standard test-and-set lock; acquire on lock, release on unlock.
unsafe impl lock_api::RawMutex for IrqSpin {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's required initializer
    const INIT: Self = IrqSpin {
        locked: AtomicBool::new(false),
        reenable: AtomicBool::new(false),
    };
    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        loop {
            let was = x86_64::instructions::interrupts::are_enabled();
            x86_64::instructions::interrupts::disable();
            if self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                self.reenable.store(was, Ordering::Relaxed);
                return;
            }
            if was {
                x86_64::instructions::interrupts::enable();
            }
            core::hint::spin_loop();
        }
    }

    fn try_lock(&self) -> bool {
        let was = x86_64::instructions::interrupts::are_enabled();
        x86_64::instructions::interrupts::disable();
        let ok = self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if ok {
            self.reenable.store(was, Ordering::Relaxed);
        } else if was {
            x86_64::instructions::interrupts::enable();
        }
        ok
    }

    unsafe fn unlock(&self) {
        let reenable = self.reenable.load(Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        if reenable {
            x86_64::instructions::interrupts::enable();
        }
    }
}

/// An interrupt-safe mutex for kernel state shared with interrupt handlers.
pub type IrqMutex<T> = lock_api::Mutex<IrqSpin, T>;
