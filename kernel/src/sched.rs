//! Kernel threads and the preemptive round-robin scheduler (one CPU for now).
//!
//! Each thread has its own kernel stack; `switch_context` saves the callee-saved
//! registers on the old stack and resumes the new one. The timer interrupt wakes
//! sleepers and, when the running thread has used its slice, switches from inside the
//! interrupt (the interrupted state stays on that thread's stack until it runs again).
//! Blocking registers the waiter before testing its condition
//! ([`WaitQueue::wait_until`]), so no wake-up is lost and conditions may take ordinary
//! locks; a preempted thread that was about to wait stays runnable.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::interrupts;

use crate::arch::cpu::{self, FpuState};
use crate::sync::IrqMutex;
use crate::time;

pub type ThreadId = u64;

const STACK_SIZE: usize = 64 * 1024;
/// Ticks a thread runs before another ready thread gets the CPU.
const SLICE_TICKS: u32 = 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Ready,
    Running,
    Sleeping,
    Blocked,
    Dead,
}

struct Thread {
    name: &'static str,
    state: State,
    /// Saved stack pointer while not running.
    rsp: u64,
    /// When a sleeping thread wakes, in uptime ns.
    wake_at: u64,
    /// None for the boot thread, which runs on the boot stack.
    _stack: Option<Box<[u8]>>,
    /// Top of the kernel stack: where entries from user mode land.
    kstack_top: u64,
    /// Page-table root to run with; 0 = the kernel's own.
    cr3: u64,
    /// Register state that only user threads have, saved while they do not run.
    user: Option<Box<UserRegs>>,
    /// The thread's nice value (-20..=19), see [`set_nice`].
    nice: i8,
    /// Turns a positive-nice thread still gives up before it runs again.
    skips_left: u8,
}

/// Ticks a thread runs per turn: one at nice 0 and above, up to five at -20.
fn slice_of(nice: i8) -> u32 {
    1 + (-nice.min(0) as u32) / 5
}

/// Turns a ready thread lets others take before running: none at nice 0 and below,
/// one more per four levels above (four at 19), so a busy nice-19 thread beside a
/// busy nice-0 one gets about a fifth of the CPU; a lone one runs at once.
fn skips_of(nice: i8) -> u8 {
    (nice.max(0) as u8).div_ceil(4).min(4)
}

/// Sets a thread's nice value (setpriority): its share of the CPU when others are
/// ready, through the length of its turns (below 0) or the turns it passes up (above).
pub fn set_nice(id: ThreadId, nice: i32) {
    let nice = nice.clamp(-20, 19) as i8;
    with(|s| {
        if let Some(t) = s.threads.get_mut(&id) {
            t.nice = nice;
            t.skips_left = skips_of(nice);
        }
    });
}

/// The user-visible CPU state not kept on the kernel stack: FPU/SSE and %fs base.
pub struct UserRegs {
    fpu: FpuState,
    fs_base: u64,
}

struct Scheduler {
    // Boxed so a thread's `rsp` field keeps its address while the map changes.
    threads: BTreeMap<ThreadId, Box<Thread>>,
    run_queue: VecDeque<ThreadId>,
    sleepers: Vec<ThreadId>,
    current: ThreadId,
    idle: ThreadId,
    next_id: ThreadId,
    slice_left: u32,
    switches: u64,
}

static SCHED: IrqMutex<Option<Scheduler>> = IrqMutex::new(None);

core::arch::global_asm!(
    r#"
.global writ_switch_context
writ_switch_context:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

writ_thread_start:
    mov %r12, %rdi
    and $-16, %rsp
    call writ_thread_entry
    ud2
"#,
    options(att_syntax)
);

extern "C" {
    fn writ_switch_context(save_rsp: *mut u64, load_rsp: u64);
    fn writ_thread_start();
}

type Entry = Box<dyn FnOnce() + Send + 'static>;

#[no_mangle]
extern "C" fn writ_thread_entry(arg: *mut Entry) -> ! {
    // SAFETY: `arg` is the Box<Entry> leaked by `spawn` for exactly this thread.
    let entry = unsafe { Box::from_raw(arg) };
    interrupts::enable();
    entry();
    exit_current()
}

pub fn init() {
    let mut threads = BTreeMap::new();
    threads.insert(
        0,
        Box::new(Thread {
            name: "boot",
            state: State::Running,
            rsp: 0,
            wake_at: 0,
            _stack: None,
            kstack_top: 0,
            cr3: 0,
            user: None,
            nice: 0,
            skips_left: 0,
        }),
    );
    *SCHED.lock() = Some(Scheduler {
        threads,
        run_queue: VecDeque::new(),
        sleepers: Vec::new(),
        current: 0,
        idle: 0,
        next_id: 1,
        slice_left: SLICE_TICKS,
        switches: 0,
    });
    let idle = spawn_inner("idle", Box::new(idle_thread), false, 0);
    with(|s| s.idle = idle);
    interrupts::enable();
    log::info!(
        "sched: preemptive round robin, {} ms slice, {} KiB kernel stacks, interrupts on",
        1000 / time::HZ * u64::from(SLICE_TICKS),
        STACK_SIZE / 1024
    );
}

fn with<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    let mut g = SCHED.lock();
    f(g.as_mut().expect("scheduler not initialised"))
}

/// Whether the CPU is running the idle thread (the timer's accounting asks).
pub fn idle_now() -> bool {
    with(|s| s.current == s.idle)
}

fn idle_thread() {
    let mut idle_since = time::uptime_ns();
    let mut reported = false;
    loop {
        interrupts::disable();
        if with(|s| !s.run_queue.is_empty()) {
            schedule();
            idle_since = time::uptime_ns();
            reported = false;
        }
        // With log=debug, a system idle for 5 s with blocked threads says who waits:
        // the first thing to look at when something hangs.
        if !reported
            && log::log_enabled!(log::Level::Debug)
            && time::uptime_ns() - idle_since > 5_000_000_000
        {
            reported = true;
            dump();
        }
        interrupts::enable_and_hlt();
    }
}

/// Logs every thread and its state (debugging aid).
pub fn dump() {
    let lines: Vec<(ThreadId, &'static str, State, u64)> = with(|s| {
        s.threads
            .iter()
            .map(|(id, t)| (*id, t.name, t.state, t.wake_at))
            .collect()
    });
    for (id, name, state, wake) in lines {
        log::debug!("sched: thread {id} {name} {state:?} wake_at={wake}");
    }
}

/// Starts a kernel thread running `f`.
pub fn spawn(name: &'static str, f: impl FnOnce() + Send + 'static) -> ThreadId {
    spawn_inner(name, Box::new(f), true, 0)
}

/// Starts a thread that will run user code in the address space `cr3`: `f` runs first
/// in kernel mode (with that address space active) and ends by entering user mode.
pub fn spawn_user_with(
    name: &'static str,
    cr3: u64,
    fpu: FpuState,
    fs_base: u64,
    f: impl FnOnce() + Send + 'static,
) -> ThreadId {
    let id = spawn_inner(name, Box::new(f), false, cr3);
    with(|s| {
        let t = s.threads.get_mut(&id).expect("just spawned");
        t.user = Some(Box::new(UserRegs { fpu, fs_base }));
        t.state = State::Ready;
        s.run_queue.push_back(id);
    });
    id
}

/// execve switched the running thread to a new address space.
pub fn set_current_cr3(cr3: u64) {
    interrupts::without_interrupts(|| {
        with(|s| {
            let cur = s.current;
            s.threads.get_mut(&cur).expect("current exists").cr3 = cr3;
        });
        // SAFETY: `cr3` is the root of the caller's new AddressSpace (kernel half shared).
        unsafe { crate::mm::vm::load_cr3(cr3) };
    });
}

fn spawn_inner(name: &'static str, f: Entry, runnable: bool, cr3: u64) -> ThreadId {
    let mut stack = alloc::vec![0u8; STACK_SIZE].into_boxed_slice();
    let top = (stack.as_mut_ptr() as u64 + STACK_SIZE as u64) & !0xf;
    let arg = Box::into_raw(Box::new(f)) as u64;
    // Initial frame popped by writ_switch_context: r15 r14 r13 r12 rbx rbp, then ret.
    let frame: [u64; 8] = [0, 0, 0, arg, 0, 0, writ_thread_start as *const () as u64, 0];
    let rsp = top - 8 * frame.len() as u64;
    // SAFETY: the frame lies inside the new stack, which nothing else references yet.
    unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
    with(|s| {
        let id = s.next_id;
        s.next_id += 1;
        let state = if runnable {
            State::Ready
        } else {
            State::Blocked
        };
        let user = (cr3 != 0).then(|| {
            Box::new(UserRegs {
                fpu: FpuState::initial(),
                fs_base: 0,
            })
        });
        s.threads.insert(
            id,
            Box::new(Thread {
                name,
                state,
                rsp,
                wake_at: 0,
                _stack: Some(stack),
                kstack_top: top,
                cr3,
                user,
                nice: 0,
                skips_left: 0,
            }),
        );
        if runnable {
            s.run_queue.push_back(id);
        }
        id
    })
}

/// Gives up the CPU; `prepare` runs under the scheduler lock first (to change the
/// current thread's state atomically with the switch).
fn schedule_with(prepare: impl FnOnce(&mut Scheduler)) {
    schedule_inner(prepare, false);
}

fn schedule_inner(prepare: impl FnOnce(&mut Scheduler), preempt: bool) {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    let switch = with(|s| {
        prepare(s);
        let cur = s.current;
        let cur_state = s.threads[&cur].state;
        if cur_state == State::Running || (preempt && cur_state == State::Blocked) {
            // A preempted thread is still runnable even if it was preparing to wait:
            // it has not tested its condition yet, and will re-register when it does.
            s.threads.get_mut(&cur).unwrap().state = State::Ready;
            if cur != s.idle {
                s.run_queue.push_back(cur);
            }
        }
        let next = loop {
            match s.run_queue.pop_front() {
                Some(id) if s.threads.get(&id).is_some_and(|t| t.state == State::Ready) => {
                    // A positive-nice thread passes its turn while others are ready.
                    let others = !s.run_queue.is_empty();
                    let t = s.threads.get_mut(&id).unwrap();
                    if others && t.skips_left > 0 {
                        t.skips_left -= 1;
                        s.run_queue.push_back(id);
                        continue;
                    }
                    t.skips_left = skips_of(t.nice);
                    break id;
                }
                Some(_) => continue,
                None => break s.idle,
            }
        };
        s.slice_left = SLICE_TICKS * s.threads.get(&next).map_or(1, |t| slice_of(t.nice));
        s.threads.get_mut(&next).unwrap().state = State::Running;
        if next == cur {
            return None;
        }
        s.current = next;
        CURRENT.store(next, Ordering::Relaxed);
        s.switches += 1;
        switch_cpu_state(s, cur, next);
        let save: *mut u64 = &mut s.threads.get_mut(&cur).unwrap().rsp;
        Some((save, s.threads[&next].rsp))
    });
    if let Some((save, load)) = switch {
        // SAFETY: `save` points into a boxed Thread that stays alive at least until it is
        // reaped, which happens only after it has switched away; `load` is a stack
        // pointer saved by this function or built by `spawn_inner`.
        unsafe { writ_switch_context(save, load) };
        reap();
    }
    if were_enabled {
        interrupts::enable();
    }
}

fn schedule() {
    schedule_with(|_| {});
}

/// Saves what the outgoing thread keeps outside its kernel stack and loads the
/// incoming thread's: user FPU and %fs, the kernel stack for user entries, CR3.
fn switch_cpu_state(s: &mut Scheduler, cur: ThreadId, next: ThreadId) {
    if let Some(u) = s.threads.get_mut(&cur).and_then(|t| t.user.as_mut()) {
        u.fpu.save();
        u.fs_base = cpu::fs_base();
    }
    let t = &s.threads[&next];
    if t.kstack_top != 0 {
        cpu::set_kernel_stack(t.kstack_top);
    }
    let root = if t.cr3 != 0 {
        t.cr3
    } else {
        crate::mm::paging::kernel_pml4()
    };
    // Compare with the register, not the outgoing thread's record: an exiting process
    // may already have freed its tables (and the frame may be reused by a new one).
    let live = x86_64::registers::control::Cr3::read_raw()
        .0
        .start_address()
        .as_u64();
    if root != live {
        // SAFETY: every cr3 recorded on a thread is an AddressSpace root whose upper half
        // is the kernel's, kept alive by the thread's process until the thread is dead.
        unsafe { crate::mm::vm::load_cr3(root) };
    }
    if let Some(u) = &t.user {
        u.fpu.restore();
        cpu::set_fs_base(u.fs_base);
    }
}

/// Frees the stacks of threads that have exited (never the running one).
fn reap() {
    let dead: Vec<Box<Thread>> = with(|s| {
        let cur = s.current;
        let ids: Vec<ThreadId> = s
            .threads
            .iter()
            .filter(|(id, t)| t.state == State::Dead && **id != cur)
            .map(|(id, _)| *id)
            .collect();
        ids.iter().filter_map(|id| s.threads.remove(id)).collect()
    });
    drop(dead);
}

#[allow(dead_code)] // for sched_yield (issue 5)
pub fn yield_now() {
    schedule();
}

/// Gives up the CPU but stays runnable, even inside a wait's condition (Blocked, still
/// registered): as a preemption does. For a thread that met a lock held by a preempted
/// thread. `yield_now` there would sleep until the next wake-up of the queues it
/// registered on, however ready its condition already is.
pub fn yield_busy() {
    schedule_inner(|_| {}, true);
}

pub fn exit_current() -> ! {
    schedule_with(|s| {
        let cur = s.current;
        s.threads.get_mut(&cur).unwrap().state = State::Dead;
    });
    unreachable!("a dead thread was scheduled again");
}

pub fn current() -> ThreadId {
    CURRENT.load(Ordering::Relaxed)
}

/// The running thread, mirrored from `Scheduler::current` at every switch so the
/// system call path reads it without the scheduler's lock (one CPU: a plain load).
static CURRENT: AtomicU64 = AtomicU64::new(0);

/// The running thread's name, without blocking (used by fatal paths).
pub fn current_name() -> &'static str {
    match SCHED.try_lock() {
        Some(g) => g
            .as_ref()
            .and_then(|s| s.threads.get(&s.current))
            .map_or("?", |t| t.name),
        None => "? (scheduler locked)",
    }
}

/// A thread's state as a word (`run`, `ready`, `sleep`, `blocked`, `dead`), for the
/// debug console; None if there is no such thread.
pub fn state_name(id: ThreadId) -> Option<&'static str> {
    with(|s| {
        s.threads.get(&id).map(|t| match t.state {
            State::Running => "run",
            State::Ready => "ready",
            State::Sleeping => "sleep",
            State::Blocked => "blocked",
            State::Dead => "dead",
        })
    })
}

pub fn sleep_ms(ms: u64) {
    // A deadline in uptime (the TSC), not a tick count: under a loaded host QEMU
    // delivers fewer timer ticks than wall time passes, and a sleep counted in ticks
    // would run long by as many as were lost (user sleeps use uptime too).
    let wake_at = time::uptime_ns() + ms.max(1) * 1_000_000;
    schedule_with(|s| {
        let cur = s.current;
        let t = s.threads.get_mut(&cur).unwrap();
        t.state = State::Sleeping;
        t.wake_at = wake_at;
        s.sleepers.push(cur);
    });
}

fn make_ready(s: &mut Scheduler, id: ThreadId) {
    if let Some(t) = s.threads.get_mut(&id) {
        if matches!(t.state, State::Blocked | State::Sleeping) {
            t.state = State::Ready;
            s.run_queue.push_back(id);
        }
    }
}

/// The timer interrupt: wake sleepers whose time came, preempt at the end of a slice.
pub fn on_timer_tick() {
    let now = time::uptime_ns();
    let resched = {
        let mut g = match SCHED.try_lock() {
            Some(g) => g,
            None => return,
        };
        let Some(s) = g.as_mut() else { return };
        let mut i = 0;
        while i < s.sleepers.len() {
            let id = s.sleepers[i];
            if s.threads.get(&id).is_none_or(|t| t.wake_at <= now) {
                s.sleepers.swap_remove(i);
                make_ready(s, id);
            } else {
                i += 1;
            }
        }
        s.slice_left = s.slice_left.saturating_sub(1);
        !s.run_queue.is_empty() && (s.slice_left == 0 || s.current == s.idle)
    };
    if resched {
        schedule_inner(|_| {}, true);
    }
}

pub fn stats() -> (usize, u64) {
    with(|s| (s.threads.len(), s.switches))
}

/// Blocks until `cond` holds, woken by any of `queues` (poll waits on many files).
/// Same protocol as [`WaitQueue::wait_until`]: register everywhere, then test.
pub fn wait_any(queues: &[&WaitQueue], mut cond: impl FnMut() -> bool) {
    let me = current();
    loop {
        // Blocked *before* registering: a wake-up that drains a queue between the two
        // (an interrupt: the device, a timer, or any wake of a shared key) then finds
        // us Blocked and readies us. The other order lost it: make_ready ignored a
        // Running thread, and with its registration gone the thread slept through the
        // wake-up it was waiting for (the boot thread waiting for init hung this way).
        // A timer preemption in between is harmless (schedule_inner readies a
        // preempted Blocked thread).
        with(|s| s.threads.get_mut(&me).unwrap().state = State::Blocked);
        for q in queues {
            q.waiters.lock().push_back(me);
        }
        if cond() {
            with(|s| {
                let t = s.threads.get_mut(&me).unwrap();
                // Woken meanwhile (Ready, queued) or not: either way, running on.
                t.state = State::Running;
            });
            for q in queues {
                q.waiters.lock().retain(|&x| x != me);
            }
            return;
        }
        // Still Blocked: sleep until woken. Woken already (Ready): this is a yield.
        schedule_with(|_| {});
        // Drop stale registrations before registering again.
        for q in queues {
            q.waiters.lock().retain(|&x| x != me);
        }
    }
}

/// Threads waiting for a condition; wakers call [`WaitQueue::wake_all`] after making it
/// true.
pub struct WaitQueue {
    waiters: IrqMutex<VecDeque<ThreadId>>,
}

impl WaitQueue {
    pub const fn new() -> Self {
        WaitQueue {
            waiters: IrqMutex::new(VecDeque::new()),
        }
    }

    /// Blocks until `cond` holds. The thread registers as a waiter *before* testing
    /// `cond` (Linux's prepare_to_wait), so a wake-up between the test and the sleep
    /// is never lost, and `cond` runs with interrupts enabled: it may take ordinary
    /// locks even if their holder is a preempted thread.
    pub fn wait_until(&self, cond: impl FnMut() -> bool) {
        wait_any(&[self], cond);
    }

    pub fn wake_all(&self) {
        let ids: Vec<ThreadId> = self.waiters.lock().drain(..).collect();
        if !ids.is_empty() {
            with(|s| ids.iter().for_each(|&id| make_ready(s, id)));
        }
    }

    /// Threads waiting now.
    pub fn len(&self) -> usize {
        self.waiters.lock().len()
    }

    #[allow(dead_code)] // the pair of `len`
    pub fn is_empty(&self) -> bool {
        self.waiters.lock().is_empty()
    }

    #[allow(dead_code)] // for pipes and sockets (issues 5 and 7)
    pub fn wake_one(&self) {
        if let Some(id) = self.waiters.lock().pop_front() {
            with(|s| make_ready(s, id));
        }
    }
}

/// The boot thread's last act: it exits and leaves the CPU to the other threads.
pub fn idle_loop() -> ! {
    exit_current()
}
