//! The kernel's network stack: one `netobj::NetStack`, its capability, and the thread
//! that runs it.
//!
//! At boot [`init`] creates the stack over the network device if the machine has one
//! (else over a null device, so 127.0.0.1 always works), wraps it as a
//! `NetStackObject` in the kernel's CSpace (slot [`crate::capsys::KERNEL_NETSTACK`])
//! with every right, and [`grant`] copies that capability into init's authority CNode
//! (fork copies it on from there; setuid derives it down in the personality).
//!
//! Nothing polls on a fixed tick. The `net` kernel thread runs the stack when
//! [`device_interrupt`] fired (the driver's interrupt handler calls it: it only sets a
//! flag and wakes the thread, so it is interrupt-safe and never touches the stack), when
//! smoltcp's `poll_at` comes due (a timed wake-up, `waits::wake_at`), or when a socket
//! path without a `Kernel` (write(2), close) wakes `KEY_NET_THREAD`. The socket system
//! calls run the stack themselves through [`kick`] (`Kernel::net_kick`), so loopback
//! traffic and handshakes need no thread switch.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use linux_personality::net::{NullDevice, KEY_NET_THREAD};
use netobj::capobj::NetStackObject;
use netobj::{Instant, NetDevice, NetStack, StackConfig};
use spin::Once;

static STACK: Once<NetStack> = Once::new();
/// The device interrupted since the thread last ran the stack.
static PENDING: AtomicBool = AtomicBool::new(false);
/// The earliest timed wake-up of the thread not yet fired (uptime ns; 0 = none), so
/// each kick does not add another timer entry for the same (or a later) deadline.
static ARMED: AtomicU64 = AtomicU64::new(0);

/// Make sure the thread wakes by `due` (uptime ns): afterwards a timed wake-up at or
/// before `due` is pending. One earlier than `due` only wakes the thread to look again,
/// so whoever it wakes must arm again for what is then due (the thread's wait does).
fn arm(due: u64) {
    let cur = ARMED.load(Ordering::Acquire);
    if cur == 0 || cur <= crate::time::uptime_ns() || due < cur {
        ARMED.store(due, Ordering::Release);
        crate::waits::wake_at(due, KEY_NET_THREAD);
    }
}

fn now() -> Instant {
    Instant::from_micros((crate::time::uptime_ns() / 1000) as i64)
}

fn ns_of(t: Instant) -> u64 {
    (t.total_micros().max(0) as u64).saturating_mul(1000)
}

/// The driver's interrupt hook: interrupt-safe (a flag and a wake-up).
pub fn device_interrupt() {
    PENDING.store(true, Ordering::Release);
    crate::waits::wake(KEY_NET_THREAD);
}

/// The stack lock's contention hook (`netobj::set_contention_hook`): the holder may be a
/// preempted thread on this CPU (the net thread in a receive batch), so a thread that
/// can be switched out yields to it instead of spinning out its time slice (a reader's
/// poll(2) did, a few percent of receive time). With interrupts off (an IrqMutex held,
/// an interrupt handler) it must not switch: it spins, as before.
fn stack_contended() {
    if x86_64::instructions::interrupts::are_enabled() {
        // Runnable still: the lock is often met inside a wait's condition (poll).
        crate::sched::yield_busy();
    } else {
        core::hint::spin_loop();
    }
}

/// Creates the stack and its capability ([`start`] starts the net thread). With
/// `claim_device` false (the network self-tests drive the device themselves) the stack
/// has loopback only.
pub fn init(claim_device: bool) {
    let dev: Option<Box<dyn NetDevice>> = if claim_device {
        crate::virtio_net::probe(device_interrupt)
    } else {
        None
    };
    let has_device = dev.is_some();
    if let Some(d) = &dev {
        linux_personality::net::ifconf::set_device(d.mac_address());
    }
    netobj::set_contention_hook(stack_contended);
    let device = dev.unwrap_or_else(|| Box::new(NullDevice));
    let mut seed = [0u8; 8];
    crate::random::fill(&mut seed);
    let config = StackConfig {
        random_seed: u64::from_le_bytes(seed),
        ..StackConfig::default()
    };
    let stack = NetStack::new(device, config, now());
    STACK.call_once(|| stack.clone());
    let made = crate::capsys::with(|sys| {
        let dst = crate::capsys::kernel_slot(sys, crate::capsys::KERNEL_NETSTACK)?;
        sys.create_object(
            crate::capsys::root_budget(),
            dst,
            NetStackObject::with_wrapper(stack, linux_personality::net::socket_object),
            caps::Rights::ALL,
        )
        .ok()
    });
    if made.is_none() {
        log::error!("net: cannot create the NetStack capability; no sockets");
        return;
    }
    log::info!(
        "net: NetStack up ({}), loopback 127.0.0.1",
        if has_device { "eth0" } else { "no device" }
    );
}

/// Copies the kernel's NetStack capability (every right) into a new process's
/// authority CNode: init's, and any process the kernel starts itself.
pub fn grant(sys: &mut caps::CapSystem, t: &linux_personality::fd::FdTable) {
    let Some(src) = crate::capsys::kernel_slot(sys, crate::capsys::KERNEL_NETSTACK) else {
        return;
    };
    if sys.cap_at(src).is_none() {
        return;
    }
    if let Ok(dst) = t.authority_slot(sys, linux_personality::fd::AUTH_NETSTACK) {
        let _ = sys.copy(src, dst, caps::Rights::ALL);
    }
}

/// Starts the net thread (after the boot self-tests, whose heap accounting a thread
/// allocating meanwhile would disturb). Until then only system calls run the stack,
/// and there are none.
pub fn start() {
    if STACK.get().is_some() {
        crate::sched::spawn("net", thread);
    }
}

/// The stack, once [`init`] ran (for /proc/net and the console).
pub fn stack() -> Option<&'static NetStack> {
    STACK.get()
}

/// Run the stack until nothing is due now (bounded: loopback traffic can ping-pong),
/// then make sure the thread's timer covers the next `poll_at`.
pub fn kick() {
    let Some(stack) = STACK.get() else { return };
    let mut t = now();
    for _ in 0..8 {
        stack.poll(t);
        t = now();
        match stack.poll_at(t) {
            Some(at) if at <= t => continue,
            Some(at) => {
                arm(ns_of(at));
                return;
            }
            None => return,
        }
    }
    // Still busy: let the thread carry on.
    crate::waits::wake(KEY_NET_THREAD);
}

fn thread() {
    let Some(stack) = STACK.get() else { return };
    loop {
        PENDING.store(false, Ordering::Release);
        let t = now();
        stack.poll(t);
        let next = stack.poll_at(now());
        if next.is_some_and(|at| ns_of(at) <= crate::time::uptime_ns()) {
            // More to do right away (a receive batch yielded): let others run first.
            crate::sched::yield_now();
            continue;
        }
        // The condition arms the timer for the next deadline each time it finds nothing
        // due, not only before the first sleep: a wake-up by an earlier timer (armed for
        // a deadline that has since moved later, e.g. a retransmission timer of a
        // connection that was then acknowledged) must not leave the thread asleep with no
        // timer for the deadline that is left. It did: `arm` saw that earlier timer
        // pending and added none, the timer fired, the condition found nothing due, and
        // the thread slept until some frame arrived. A SYN answered by a stale ACK (the
        // peer's TIME-WAIT of an earlier connection on the same ports) then waited for
        // its retransmission 10 to 60 s instead of 1 s, as one wget in a few hundred did.
        crate::waits::wait(KEY_NET_THREAD, &mut || {
            if PENDING.load(Ordering::Acquire) {
                return true;
            }
            match stack.poll_at(now()) {
                Some(at) => {
                    let due = ns_of(at);
                    if due <= crate::time::uptime_ns() {
                        return true;
                    }
                    arm(due);
                    false
                }
                None => false,
            }
        });
    }
}

/// Revokes the NetStack capability in a process's authority CNode and deletes it
/// (the kernel's test hook; the debug console's `revoke` is the general tool): every
/// capability derived from it goes — fork copies, the derived cap of a process that
/// left root, and the endpoints made through any of them (made CDT children), which
/// reset at once so their holders' next operation fails (ENETDOWN for a call already
/// in progress, EBADF for the descriptor). Returns how many endpoints died.
pub fn revoke_netstack(sys: &mut caps::CapSystem, t: &linux_personality::fd::FdTable) -> usize {
    let Ok(slot) = t.authority_slot(sys, linux_personality::fd::AUTH_NETSTACK) else {
        return 0;
    };
    if sys.cap_at(slot).is_none() {
        return 0;
    }
    // What dies is exactly the objects that lose their last capability: endpoints
    // (the NetStack object itself is held by the kernel's CSpace).
    let before = sys.object_count();
    let _ = sys.revoke(slot);
    let _ = sys.delete(slot);
    before - sys.object_count()
}

/// The revocation test hook (`writ.net_revoke=PID:MS` on the command line, until the
/// debug console exists): MS milliseconds after boot, revoke the NetStack capability of
/// process PID with [`revoke_netstack`] and say so on the console.
pub fn schedule_revoke(spec: &'static str) {
    let parsed = spec
        .split_once(':')
        .and_then(|(p, m)| Some((p.parse::<u32>().ok()?, m.parse::<u64>().ok()?)));
    let Some((pid, ms)) = parsed else {
        log::warn!("net: bad writ.net_revoke={spec} (want PID:MS)");
        return;
    };
    crate::sched::spawn("net-revoke", move || {
        crate::sched::sleep_ms(ms);
        let Some(p) = crate::process::by_pid(pid) else {
            crate::println!("writ: net_revoke: no process {pid}");
            return;
        };
        // Lock order as in the system calls: the fd table, then the capability system.
        let killed = {
            let files = p.files.lock();
            crate::capsys::with(|sys| revoke_netstack(sys, &files))
        };
        let ok = crate::capsys::with(|sys| sys.check().is_empty());
        crate::println!(
            "writ: revoked the NetStack cap of pid {pid}: {killed} endpoints killed, caps check {}",
            if ok { "ok" } else { "FAILED" }
        );
    });
}
