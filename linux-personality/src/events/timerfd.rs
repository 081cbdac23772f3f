//! timerfd: a timer as a file. Reading it returns (as a u64) how many times it expired
//! since the last read, and blocks until it has expired at least once; it is readable
//! (POLLIN) from the first expiry until that read.
//!
//! Expiry is computed from the clock when the file is looked at (read, poll, settime,
//! gettime), as Linux's hrtimer_forward counts overruns: a periodic timer that expired
//! `n` times since the last look adds `n`. Nobody runs code at the expiry itself, so
//! whenever a look finds the timer armed but not yet due it asks the kernel for a
//! wake-up of the timer's key at that instant (`events::wake_at`); a sleeping reader,
//! poll or epoll then looks again.
//!
//! Deadlines are kept on CLOCK_MONOTONIC. A CLOCK_REALTIME absolute time is converted
//! when the timer is set; Writ's realtime clock never jumps (there is no
//! clock_settime), so this is exact, and TFD_TIMER_CANCEL_ON_SET never has a change to
//! report. CLOCK_BOOTTIME is CLOCK_MONOTONIC (no suspend).

use alloc::sync::Arc;

use spin::Mutex;

use super::Registry;
use crate::abi::Errno;
use crate::file::{poll, wake, FileOps, FileStat};

pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_MONOTONIC: u32 = 1;
pub const CLOCK_BOOTTIME: u32 = 7;
pub const CLOCK_REALTIME_ALARM: u32 = 8;
pub const CLOCK_BOOTTIME_ALARM: u32 = 9;

pub const TFD_TIMER_ABSTIME: u32 = 1;
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;

static TIMERS: Registry<TimerFd> = Registry::new();

#[derive(Default)]
struct State {
    /// Next expiry (monotonic ns), None when disarmed.
    next: Option<u64>,
    /// Period in ns (0: one-shot).
    interval: u64,
    /// Expiries not yet read.
    ticks: u64,
    /// The instant a wake-up was last asked for (0: none pending).
    wake_asked: u64,
}

impl State {
    /// Counts the expiries up to `now`; a new one is an input event (an edge for
    /// EPOLLET) even if nobody was woken at the instant it happened.
    fn advance(&mut self, key: u64, now: u64) {
        let Some(next) = self.next else { return };
        if now < next {
            return;
        }
        super::note_wake_for(key, poll::POLLIN);
        match (now - next).checked_div(self.interval) {
            None => {
                self.ticks = self.ticks.saturating_add(1);
                self.next = None;
            }
            Some(q) => {
                let n = q + 1;
                self.ticks = self.ticks.saturating_add(n);
                self.next = Some(next.saturating_add(n.saturating_mul(self.interval)));
            }
        }
    }

    /// Makes sure a wake-up is due at the next expiry (one outstanding at a time: an
    /// earlier one still pending will wake the waiter, who then asks again).
    fn arm_wake(&mut self, key: u64, now: u64) {
        let Some(next) = self.next else { return };
        if self.wake_asked > now && self.wake_asked <= next {
            return;
        }
        self.wake_asked = next;
        super::wake_at(next, key);
    }
}

pub struct TimerFd {
    realtime: bool,
    key: u64,
    state: Mutex<State>,
}

/// `it_value` and `it_interval` in ns, as timerfd_gettime reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    pub value: u64,
    pub interval: u64,
}

impl TimerFd {
    /// A timer on `clock` (the caller checked it is one timerfd accepts).
    pub fn new(clock: u32) -> Arc<TimerFd> {
        let realtime = matches!(clock, CLOCK_REALTIME | CLOCK_REALTIME_ALARM);
        let t = Arc::new(TimerFd {
            realtime,
            key: super::new_key(),
            state: Mutex::new(State::default()),
        });
        TIMERS.insert(t.key, &t);
        t
    }

    pub fn of(ops: &Arc<dyn FileOps>) -> Option<Arc<TimerFd>> {
        TIMERS.find(ops)
    }

    fn current(s: &mut State, key: u64) -> Setting {
        let now = super::now_ns(false);
        s.advance(key, now);
        Setting {
            value: s.next.map_or(0, |n| n.saturating_sub(now).max(1)),
            interval: s.interval,
        }
    }

    /// timerfd_gettime.
    pub fn get(&self) -> Setting {
        Self::current(&mut self.state.lock(), self.key)
    }

    /// timerfd_settime: returns the old setting. `new.value == 0` disarms; with
    /// `abstime`, `new.value` is a time on the timer's clock. Unread expiries are lost.
    pub fn set(&self, new: Setting, abstime: bool) -> Setting {
        let old;
        {
            let mut s = self.state.lock();
            old = Self::current(&mut s, self.key);
            let now = super::now_ns(false);
            s.ticks = 0;
            s.interval = new.interval;
            s.next = if new.value == 0 {
                None
            } else if abstime {
                // The clock's time `value` on the monotonic clock.
                let clock_now = super::now_ns(self.realtime);
                Some(if new.value <= clock_now {
                    now.saturating_sub(clock_now - new.value)
                } else {
                    now.saturating_add(new.value - clock_now)
                })
            } else {
                Some(now.saturating_add(new.value))
            };
            s.wake_asked = 0;
            s.advance(self.key, now);
            s.arm_wake(self.key, now);
        }
        wake(self.key);
        old
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        TIMERS.remove(self.key);
    }
}

impl FileOps for TimerFd {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut s = self.state.lock();
        let now = super::now_ns(false);
        s.advance(self.key, now);
        if s.ticks == 0 {
            s.arm_wake(self.key, now);
            return Err(Errno::EAGAIN);
        }
        buf[..8].copy_from_slice(&s.ticks.to_le_bytes());
        s.ticks = 0;
        Ok(8)
    }

    fn poll(&self) -> u16 {
        let mut s = self.state.lock();
        let now = super::now_ns(false);
        s.advance(self.key, now);
        if s.ticks > 0 {
            poll::POLLIN
        } else {
            s.arm_wake(self.key, now);
            0
        }
    }

    fn wait_key(&self) -> u64 {
        self.key
    }

    fn stat(&self) -> FileStat {
        super::anon_stat()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_clock;
    use super::*;

    const MS: u64 = 1_000_000;

    fn read(t: &TimerFd) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        t.read(0, &mut b).map(|_| u64::from_le_bytes(b))
    }

    #[test]
    fn one_shot_and_periodic() {
        test_clock::set(1000 * MS);
        let t = TimerFd::new(CLOCK_MONOTONIC);
        assert_eq!(read(&t), Err(Errno::EAGAIN), "disarmed");
        let old = t.set(
            Setting {
                value: 50 * MS,
                interval: 0,
            },
            false,
        );
        assert_eq!(old, Setting::default());
        assert_eq!(t.get().value, 50 * MS);
        test_clock::advance(49 * MS);
        assert_eq!(t.poll(), 0);
        test_clock::advance(MS);
        assert_eq!(t.poll(), poll::POLLIN);
        assert_eq!(read(&t), Ok(1));
        assert_eq!(
            t.get(),
            Setting::default(),
            "one-shot: disarmed after expiry"
        );
        test_clock::advance(1000 * MS);
        assert_eq!(read(&t), Err(Errno::EAGAIN));

        t.set(
            Setting {
                value: 10 * MS,
                interval: 20 * MS,
            },
            false,
        );
        test_clock::advance(55 * MS);
        assert_eq!(read(&t), Ok(3), "at 10, 30 and 50 ms");
        assert_eq!(
            t.get(),
            Setting {
                value: 15 * MS,
                interval: 20 * MS
            }
        );
        t.set(Setting::default(), false);
        assert_eq!(t.get(), Setting::default());
    }

    #[test]
    fn absolute_times() {
        test_clock::set(5000 * MS);
        let t = TimerFd::new(CLOCK_REALTIME);
        let now_rt = test_clock::REALTIME_OFFSET + 5000 * MS;
        t.set(
            Setting {
                value: now_rt + 100 * MS,
                interval: 0,
            },
            true,
        );
        assert_eq!(t.get().value, 100 * MS);
        // In the past, with a period: the overruns count at once.
        t.set(
            Setting {
                value: now_rt - 1000 * MS,
                interval: 100 * MS,
            },
            true,
        );
        assert_eq!(read(&t), Ok(11));
        let m = TimerFd::new(CLOCK_MONOTONIC);
        m.set(
            Setting {
                value: 5010 * MS,
                interval: 0,
            },
            true,
        );
        assert_eq!(m.get().value, 10 * MS);
    }
}
