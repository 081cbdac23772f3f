//! epoll: an interest list of (descriptor, open file description) pairs, each with the
//! events it wants and 64 bits of user data handed back verbatim.
//!
//! Readiness is the files' own level [`FileOps::poll`]; nothing calls back into epoll
//! when a file changes. An `epoll_wait` looks at every entry, and sleeps on every
//! entry's wait keys (an epoll's [`FileOps::wait_keys`] names its own key and,
//! recursively, those of its files), so any change wakes it to look again.
//!
//! - Level-triggered entries are reported whenever their file is ready; those reported
//!   move to the back of the list, so a small `maxevents` goes round them all, as
//!   Linux's ready list does.
//! - EPOLLET is approximated from levels and wake-ups: an entry is reported when it is
//!   ready and either (a) it was just added or modified, (b) an event bit rose since
//!   the last look, or (c) a wake-up that may bring the events it watches reached one
//!   of its file's keys since the last look (`events::wake_seq`). Every pipe write and
//!   every eventfd write is a new EPOLLIN edge, as on Linux; a read, which only makes
//!   room, is an EPOLLOUT edge ([`crate::file::wake_for`]). Files that wake with plain
//!   [`crate::file::wake`] (or the kernel's own wake: the console, timers) count for
//!   both directions. So a new event is never missed; the approximation errs the
//!   other way: such a file reports an edge-triggered entry again after a wake-up
//!   that brought it nothing new (say a read from a tty while EPOLLIN is watched and
//!   input remains), where Linux would not.
//! - EPOLLONESHOT disables an entry once reported, until EPOLL_CTL_MOD.
//! - EPOLLEXCLUSIVE is checked as Linux checks it and otherwise changes nothing: every
//!   waiter is woken, which Linux's "one or more" allows.
//! - When several entries are ready they are reported in interest-list order; Linux
//!   reports them in the order they became ready.
//!
//! Entries hold the open file description weakly. As on Linux, an entry lives as long
//! as its description: closing the descriptor while a dup (or a forked child) keeps the
//! description open leaves the entry reporting (and EPOLL_CTL_DEL on the closed number
//! is EBADF); once the last descriptor goes, the entry is gone too.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use spin::Mutex;

use super::Registry;
use crate::abi::Errno;
use crate::file::{poll, wake, FileOps, FileStat, OpenFile};

pub const EPOLLIN: u32 = 0x001;
pub const EPOLLPRI: u32 = 0x002;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// Flags, not events.
const FLAG_BITS: u32 = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;
/// What may come with EPOLLEXCLUSIVE (Linux's EPOLLEXCLUSIVE_OK_BITS).
pub const EXCLUSIVE_OK: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// Linux's EP_MAX_NESTS: how deep epoll instances may watch each other.
const MAX_NESTS: usize = 4;

static EPOLLS: Registry<Epoll> = Registry::new();
/// Serialises additions of one epoll to another, so two of them cannot each pass the
/// loop check and then close a cycle (Linux's epnested_mutex).
static NEST_LOCK: Mutex<()> = Mutex::new(());

struct Entry {
    fd: i32,
    file: Weak<OpenFile>,
    /// The description's address: with `fd`, the entry's identity.
    desc: usize,
    /// Wanted events (always with EPOLLERR | EPOLLHUP) and flags.
    events: u32,
    data: u64,
    /// EPOLLONESHOT entry already reported.
    disabled: bool,
    /// Report the current readiness once (after ADD or MOD), edge-triggered or not.
    pending: bool,
    /// Edge-triggered bookkeeping: the events and the wake sequence last seen.
    level: u32,
    seq: u64,
}

impl Entry {
    fn et(&self) -> bool {
        self.events & EPOLLET != 0
    }

    /// (ready events, wake sequence to keep, report now?)
    fn look(&self, f: &OpenFile) -> (u32, u64, bool) {
        if self.disabled {
            return (0, self.seq, false);
        }
        if !self.et() {
            let ready = u32::from(f.ops.poll()) & self.events & !FLAG_BITS;
            return (ready, 0, ready != 0);
        }
        // The sequence is read before the level, so a wake-up in between is seen next
        // time (an extra report, never a lost one)...
        let before = super::wake_seq(&*f.ops, self.events);
        let ready = u32::from(f.ops.poll()) & self.events & !FLAG_BITS;
        let fire = ready != 0 && (self.pending || before != self.seq || ready & !self.level != 0);
        // ...unless this look reports the entry anyway: then what woke meanwhile is
        // covered by this report (the reader drains what is there), and a file that
        // counted its own new event while polled (a timer expiring) is not reported twice.
        let keep = if fire {
            super::wake_seq(&*f.ops, self.events)
        } else {
            before
        };
        (ready, keep, fire)
    }
}

fn desc_of(f: &Arc<OpenFile>) -> usize {
    Arc::as_ptr(f) as usize
}

pub struct Epoll {
    key: u64,
    entries: Mutex<Vec<Entry>>,
}

impl Epoll {
    pub fn new() -> Arc<Epoll> {
        let e = Arc::new(Epoll {
            key: super::new_key(),
            entries: Mutex::new(Vec::new()),
        });
        EPOLLS.insert(e.key, &e);
        e
    }

    /// The epoll instance behind a file, if it is one.
    pub fn of(ops: &Arc<dyn FileOps>) -> Option<Arc<Epoll>> {
        EPOLLS.find(ops)
    }

    fn find(list: &[Entry], fd: i32, desc: usize) -> Option<usize> {
        list.iter()
            .position(|e| e.fd == fd && e.desc == desc && e.file.strong_count() > 0)
    }

    fn purge(list: &mut Vec<Entry>) {
        list.retain(|e| e.file.strong_count() > 0);
    }

    /// EPOLL_CTL_ADD of `file` (descriptor `fd`). The caller checked the arguments;
    /// when `file` is itself an epoll, it holds [`Epoll::nest_lock`] and checked loops.
    pub fn add(&self, fd: i32, file: &Arc<OpenFile>, events: u32, data: u64) -> Result<(), Errno> {
        {
            let mut list = self.entries.lock();
            Self::purge(&mut list);
            if Self::find(&list, fd, desc_of(file)).is_some() {
                return Err(Errno::EEXIST);
            }
            let e = Entry {
                fd,
                file: Arc::downgrade(file),
                desc: desc_of(file),
                events: events | EPOLLERR | EPOLLHUP,
                data,
                disabled: false,
                pending: true,
                level: 0,
                seq: super::wake_seq(&*file.ops, events | EPOLLERR | EPOLLHUP),
            };
            list.push(e);
        }
        wake(self.key);
        Ok(())
    }

    /// EPOLL_CTL_MOD: new events and data; the entry reports its current readiness
    /// again (this is how a EPOLLONESHOT entry is re-armed).
    pub fn modify(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        {
            let mut list = self.entries.lock();
            let i = Self::find(&list, fd, desc_of(file)).ok_or(Errno::ENOENT)?;
            let e = &mut list[i];
            if e.events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            e.events = events | EPOLLERR | EPOLLHUP;
            e.data = data;
            e.disabled = false;
            e.pending = true;
            e.level = 0;
        }
        wake(self.key);
        Ok(())
    }

    /// EPOLL_CTL_DEL.
    pub fn delete(&self, fd: i32, file: &Arc<OpenFile>) -> Result<(), Errno> {
        {
            let mut list = self.entries.lock();
            let i = Self::find(&list, fd, desc_of(file)).ok_or(Errno::ENOENT)?;
            list.remove(i);
        }
        wake(self.key);
        Ok(())
    }

    /// Takes up to `max` events, updating edge-triggered and one-shot state, as one
    /// `epoll_wait` pass does.
    pub fn harvest(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut list = self.entries.lock();
        Self::purge(&mut list);
        let mut again = Vec::new();
        for (i, e) in list.iter_mut().enumerate() {
            if out.len() >= max {
                break;
            }
            let Some(f) = e.file.upgrade() else { continue };
            let (ready, seq, fire) = e.look(&f);
            if e.et() {
                e.level = ready;
                e.seq = seq;
            }
            if !fire {
                continue;
            }
            out.push((ready, e.data));
            e.pending = false;
            if e.events & EPOLLONESHOT != 0 {
                e.disabled = true;
            } else if !e.et() {
                again.push(i);
            }
        }
        // Reported level-triggered entries go to the back (Linux's ready list order).
        for (n, i) in again.into_iter().enumerate() {
            let e = list.remove(i - n);
            list.push(e);
        }
        out
    }

    /// Whether an `epoll_wait` would report something now (changes nothing).
    pub fn has_events(&self) -> bool {
        let list = self.entries.lock();
        list.iter()
            .any(|e| e.file.upgrade().is_some_and(|f| e.look(&f).2))
    }

    /// The epoll instances this one watches directly.
    fn children(&self) -> Vec<Arc<Epoll>> {
        let files: Vec<Arc<OpenFile>> = {
            let list = self.entries.lock();
            list.iter().filter_map(|e| e.file.upgrade()).collect()
        };
        files.iter().filter_map(|f| Epoll::of(&f.ops)).collect()
    }

    /// Held while adding an epoll instance to another (and checking for loops).
    pub fn nest_lock() -> spin::MutexGuard<'static, ()> {
        NEST_LOCK.lock()
    }

    /// Linux's ep_loop_check: would adding `to` to `self` close a cycle, or nest
    /// deeper than `MAX_NESTS` (Linux's EP_MAX_NESTS)? Then ELOOP.
    pub fn check_loop(&self, to: &Arc<Epoll>) -> Result<(), Errno> {
        fn visit(me: *const Epoll, ep: &Arc<Epoll>, depth: usize) -> bool {
            ep.children().iter().any(|c| {
                core::ptr::eq(Arc::as_ptr(c), me) || depth > MAX_NESTS || visit(me, c, depth + 1)
            })
        }
        if visit(self as *const Epoll, to, 0) {
            Err(Errno::ELOOP)
        } else {
            Ok(())
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        EPOLLS.remove(self.key);
    }
}

impl FileOps for Epoll {
    /// Readable while an `epoll_wait` would report something, so an epoll instance can
    /// itself be polled, selected or watched by another epoll.
    fn poll(&self) -> u16 {
        if self.has_events() {
            poll::POLLIN
        } else {
            0
        }
    }

    fn wait_key(&self) -> u64 {
        self.key
    }

    fn wait_keys(&self, out: &mut Vec<u64>) {
        out.push(self.key);
        let files: Vec<Arc<OpenFile>> = {
            let list = self.entries.lock();
            list.iter().filter_map(|e| e.file.upgrade()).collect()
        };
        // Loops are refused at EPOLL_CTL_ADD, so this recursion ends.
        for f in files {
            f.ops.wait_keys(out);
        }
    }

    fn stat(&self) -> FileStat {
        super::anon_stat()
    }
}
