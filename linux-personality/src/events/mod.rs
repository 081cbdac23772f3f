//! Event files: eventfd, epoll, timerfd and signalfd, each a [`crate::file::FileOps`] object that
//! a descriptor capability reaches like a pipe end.
//!
//! What they share lives here:
//! - their wait keys, drawn from one counter in a range of their own;
//! - the *wake sequence*: a counter per (hashed) wait key that every wake-up bumps
//!   ([`note_wake`], called by `crate::file::wake` and the kernel's own wake), kept
//!   apart for wake-ups that may bring input and those that may make room
//!   ([`note_wake_for`]). Edge-triggered epoll compares it to tell "something happened
//!   on this file since I last reported it" from "it is still readable", which a level
//!   `poll()` alone cannot;
//! - the clock hooks timerfd needs inside `poll()`, where no [`crate::syscall::Kernel`]
//!   is at hand: the current time and a timed wake-up of a key ([`set_clock`]);
//! - a registry from wait key to the object, so that the syscall layer can find the
//!   epoll or timer behind a descriptor (a `dyn FileOps` cannot be downcast).

pub mod epoll;
pub mod eventfd;
pub mod signalfd;
pub mod timerfd;

#[cfg(test)]
mod syscall_tests;

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Mutex;

use crate::file::{poll, FileOps, FileStat};

/// Event-file keys: a tag in bits 48..56, apart from pipes (bit 62) and the kernel's
/// keys (bits 57..63); a collision would only cost a spurious wake-up.
const KEY_BASE: u64 = 0xe7 << 48;
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

pub(crate) fn new_key() -> u64 {
    KEY_BASE | NEXT_KEY.fetch_add(1, Ordering::Relaxed)
}

/// What `fstat` shows for every event file: Linux's one anonymous inode (mode 0600,
/// no file type).
pub(crate) fn anon_stat() -> FileStat {
    FileStat {
        dev: 14,
        ino: 1,
        mode: 0o600,
        nlink: 1,
        blksize: 4096,
        ..FileStat::default()
    }
}

const SEQ_BUCKETS: usize = 256;
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
/// Per bucket: wake-ups that may bring input (0) and that may make room (1).
static WAKE_SEQ: [[AtomicU64; 2]; SEQ_BUCKETS] = [ZERO; SEQ_BUCKETS];

fn bucket(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % SEQ_BUCKETS
}

/// The classes of wake-up a set of events cares about: input (everything but
/// POLLOUT), output (POLLOUT), or both when only errors and hang-ups are asked.
fn classes(events: u32) -> [bool; 2] {
    let asked = events & !u32::from(poll::POLLERR | poll::POLLHUP);
    if asked == 0 {
        return [true, true];
    }
    [
        asked & !u32::from(poll::POLLOUT) != 0,
        asked & u32::from(poll::POLLOUT) != 0,
    ]
}

/// Records a wake-up of `key` that may change any event (before its waiters run, so
/// they see the new value).
pub fn note_wake(key: u64) {
    note_wake_for(key, u16::MAX);
}

/// Records a wake-up that may bring `events` only: a pipe read makes room (POLLOUT)
/// but brings no input, so an edge-triggered EPOLLIN watcher sees no new edge.
pub fn note_wake_for(key: u64, events: u16) {
    let b = &WAKE_SEQ[bucket(key)];
    for (i, on) in classes(u32::from(events)).into_iter().enumerate() {
        if on {
            b[i].fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// The wake sequence of a file for a watcher of `events`: the sum over all the keys
/// it waits on. Keys sharing a bucket only make it change more often (a spurious
/// edge, never a lost one).
pub(crate) fn wake_seq(f: &dyn FileOps, events: u32) -> u64 {
    let mut keys = alloc::vec::Vec::new();
    f.wait_keys(&mut keys);
    let want = classes(events);
    let mut sum = 0u64;
    for k in keys {
        for (i, c) in WAKE_SEQ[bucket(k)].iter().enumerate() {
            if want[i] {
                sum = sum.wrapping_add(c.load(Ordering::Acquire));
            }
        }
    }
    sum
}

/// Time as the kernel keeps it, for files that need it outside a system call.
#[derive(Clone, Copy)]
pub struct Clock {
    /// Nanoseconds on CLOCK_REALTIME (`true`) or CLOCK_MONOTONIC (`false`).
    pub now_ns: fn(realtime: bool) -> u64,
    /// Wakes `key` once CLOCK_MONOTONIC reaches the deadline (ns).
    pub wake_at: fn(deadline_ns: u64, key: u64),
}

static CLOCK: spin::Once<Clock> = spin::Once::new();

/// Installed once by the kernel at boot.
pub fn set_clock(c: Clock) {
    CLOCK.call_once(|| c);
}

pub(crate) fn now_ns(realtime: bool) -> u64 {
    #[cfg(test)]
    if let Some(t) = test_clock::now(realtime) {
        return t;
    }
    CLOCK.get().map_or(0, |c| (c.now_ns)(realtime))
}

pub(crate) fn wake_at(deadline_ns: u64, key: u64) {
    if let Some(c) = CLOCK.get() {
        (c.wake_at)(deadline_ns, key);
    }
}

/// Objects of one kind by wait key, so a descriptor's `FileOps` can be recognised.
pub(crate) struct Registry<T> {
    map: Mutex<BTreeMap<u64, Weak<T>>>,
}

impl<T> Registry<T> {
    pub(crate) const fn new() -> Self {
        Registry {
            map: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn insert(&self, key: u64, obj: &Arc<T>) {
        self.map.lock().insert(key, Arc::downgrade(obj));
    }

    pub(crate) fn remove(&self, key: u64) {
        self.map.lock().remove(&key);
    }

    /// The object behind `ops`, if `ops` is one of ours (same key and same address).
    pub(crate) fn find(&self, ops: &Arc<dyn FileOps>) -> Option<Arc<T>> {
        let key = ops.wait_key();
        if key & !0xffff_ffff_ffff != KEY_BASE {
            return None;
        }
        let obj = self.map.lock().get(&key)?.upgrade()?;
        let same = Arc::as_ptr(&obj) as *const u8 == Arc::as_ptr(ops) as *const u8;
        same.then_some(obj)
    }
}

/// Host tests: a clock per test thread, moved by hand.
#[cfg(test)]
pub mod test_clock {
    use std::cell::Cell;

    /// What CLOCK_REALTIME is ahead of CLOCK_MONOTONIC in tests.
    pub const REALTIME_OFFSET: u64 = 1_700_000_000_000_000_000;

    std::thread_local! {
        static NOW: Cell<Option<u64>> = const { Cell::new(None) };
    }

    pub fn set(mono_ns: u64) {
        NOW.with(|n| n.set(Some(mono_ns)));
    }

    pub fn advance(ns: u64) {
        NOW.with(|n| n.set(Some(n.get().unwrap_or(0) + ns)));
    }

    pub(super) fn now(realtime: bool) -> Option<u64> {
        NOW.with(|n| n.get())
            .map(|t| if realtime { t + REALTIME_OFFSET } else { t })
    }
}
