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

pub fn wake(key: u64) {
    let q = QUEUES.lock().get(&key).cloned();
    if let Some(q) = q {
        q.wake_all();
    }
}

/// Key space: files' keys are their object ids; the console uses this fixed key.
pub const KEY_CONSOLE: u64 = 1 << 63;
