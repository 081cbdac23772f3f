//! Keyed wait queues: the personality blocks on a key (a file's `wait_key`, a futex
//! address) and whoever changes that object's state wakes the key. Queues are made on
//! first use and live as long as the kernel (keys are object ids, which never repeat).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use crate::sched::WaitQueue;
use crate::sync::IrqMutex;

static QUEUES: IrqMutex<BTreeMap<u64, Arc<WaitQueue>>> = IrqMutex::new(BTreeMap::new());

fn queue(key: u64) -> Arc<WaitQueue> {
    QUEUES
        .lock()
        .entry(key)
        .or_insert_with(|| Arc::new(WaitQueue::new()))
        .clone()
}

pub fn wait(key: u64, ready: &mut dyn FnMut() -> bool) {
    queue(key).wait_until(ready);
}

/// Blocks until `ready()`, woken by any of `keys` (poll, select).
pub fn wait_any(keys: &[u64], ready: &mut dyn FnMut() -> bool) {
    let qs: alloc::vec::Vec<Arc<WaitQueue>> = keys.iter().map(|&k| queue(k)).collect();
    let refs: alloc::vec::Vec<&WaitQueue> = qs.iter().map(|q| &**q).collect();
    crate::sched::wait_any(&refs, ready);
}

/// Wakes `key`'s waiters, counting the wake-up first (edge-triggered epoll tells new
/// events by the count; the personality's own wake-ups count themselves, by kind, and
/// come through [`wake_quiet`]).
pub fn wake(key: u64) {
    linux_personality::events::note_wake(key);
    wake_quiet(key);
}

pub fn wake_quiet(key: u64) {
    let q = QUEUES.lock().get(&key).cloned();
    if let Some(q) = q {
        q.wake_all();
    }
}

/// Threads waiting on `key` right now.
pub fn waiters(key: u64) -> usize {
    QUEUES.lock().get(&key).map_or(0, |q| q.len())
}

/// What a timer does when it comes due.
#[derive(Clone, Copy, Debug)]
pub enum TimerAction {
    /// Wake a wait key (the waiter re-checks its condition).
    Wake(u64),
    /// A process's ITIMER_REAL, armed as generation `gen` (stale ones do nothing).
    Alarm { pid: u32, gen: u64 },
}

/// Timed events: (deadline in uptime ns, sequence) -> action, fired by the timer tick.
static TIMERS: IrqMutex<BTreeMap<(u64, u64), TimerAction>> = IrqMutex::new(BTreeMap::new());
static SEQ: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Wakes `key` once uptime reaches `deadline_ns` (the waiter re-checks its condition).
pub fn wake_at(deadline_ns: u64, key: u64) {
    at(deadline_ns, TimerAction::Wake(key));
}

/// Runs `action` from the timer interrupt once uptime reaches `deadline_ns`.
pub fn at(deadline_ns: u64, action: TimerAction) {
    let seq = SEQ.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    TIMERS.lock().insert((deadline_ns, seq), action);
}

/// Called from the timer interrupt: fire every timed wake-up that is due.
pub fn on_tick(now_ns: u64) {
    loop {
        let due = {
            let mut t = TIMERS.lock();
            match t.first_key_value() {
                Some((&(d, seq), &action)) if d <= now_ns => {
                    t.remove(&(d, seq));
                    Some(action)
                }
                _ => None,
            }
        };
        match due {
            Some(TimerAction::Wake(key)) => wake(key),
            Some(TimerAction::Alarm { pid, gen }) => crate::process::fire_alarm(pid, gen, now_ns),
            None => return,
        }
    }
}

/// Key space: files' keys are their object ids; the console uses this fixed key.
pub const KEY_CONSOLE: u64 = 1 << 63;
