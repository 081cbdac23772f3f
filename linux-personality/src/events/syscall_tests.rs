//! eventfd, epoll and timerfd through [`crate::syscall::dispatch`] on the fake kernel,
//! with raw syscall numbers and user pointers as a C program makes them; each error
//! is the one Linux gives. (The fake kernel runs nothing else, so a call that would
//! block returns EINTR.)

use std::vec::Vec;

use super::epoll::*;
use super::test_clock;
use crate::abi::nr;
use crate::abi::Errno::*;
use crate::file::flags::*;
use crate::fs::test_kernel::FakeKernel;
use crate::syscall::Kernel;

const ADD: u64 = 1;
const DEL: u64 = 2;
const MOD: u64 = 3;

fn pipe(k: &mut FakeKernel, fl: u32) -> (u64, u64) {
    let at = k.alloc(8);
    k.sys(nr::PIPE2, &[at, u64::from(fl)]).unwrap();
    let b = k.mem.peek(at, 8).unwrap();
    (
        u64::from(u32::from_le_bytes(b[..4].try_into().unwrap())),
        u64::from(u32::from_le_bytes(b[4..].try_into().unwrap())),
    )
}

fn ctl(
    k: &mut FakeKernel,
    ep: u64,
    op: u64,
    fd: u64,
    events: u32,
    data: u64,
) -> Result<u64, crate::Errno> {
    let at = k.alloc(12);
    let mut b = events.to_le_bytes().to_vec();
    b.extend_from_slice(&data.to_le_bytes());
    k.mem.poke(at, &b).unwrap();
    k.sys(nr::EPOLL_CTL, &[ep, op, fd, at])
}

/// epoll_wait with `max` slots: the (events, data) reported.
fn wait(k: &mut FakeKernel, ep: u64, max: u64, ms: i32) -> Result<Vec<(u32, u64)>, crate::Errno> {
    let at = k.alloc(12 * max);
    let n = k.sys(nr::EPOLL_WAIT, &[ep, at, max, ms as i64 as u64])?;
    let b = k.mem.peek(at, 12 * n as usize).unwrap();
    Ok(b.chunks(12)
        .map(|c| {
            (
                u32::from_le_bytes(c[..4].try_into().unwrap()),
                u64::from_le_bytes(c[4..].try_into().unwrap()),
            )
        })
        .collect())
}

fn efd_write(k: &mut FakeKernel, fd: u64, v: u64) -> Result<u64, crate::Errno> {
    k.write(fd, &v.to_le_bytes())
}

fn efd_read(k: &mut FakeKernel, fd: u64) -> Result<u64, crate::Errno> {
    let b = k.read(fd, 8)?;
    Ok(u64::from_le_bytes(b[..8].try_into().unwrap()))
}

#[test]
fn eventfd_calls() {
    let mut k = FakeKernel::new();
    assert_eq!(k.sys(nr::EVENTFD2, &[0, 0x10]), Err(EINVAL));
    let e = k
        .sys(nr::EVENTFD2, &[7, u64::from(O_NONBLOCK | O_CLOEXEC)])
        .unwrap();
    assert_eq!(k.sys(nr::FCNTL, &[e, 1, 0]), Ok(1), "FD_CLOEXEC");
    assert_eq!(
        k.sys(nr::FCNTL, &[e, 3, 0]),
        Ok(u64::from(O_RDWR | O_NONBLOCK))
    );
    assert_eq!(k.read(e, 4), Err(EINVAL));
    assert_eq!(efd_read(&mut k, e), Ok(7));
    assert_eq!(efd_read(&mut k, e), Err(EAGAIN));
    assert_eq!(k.write(e, &[1, 2]), Err(EINVAL));
    assert_eq!(efd_write(&mut k, e, u64::MAX), Err(EINVAL));
    assert_eq!(efd_write(&mut k, e, u64::MAX - 1), Ok(8));
    assert_eq!(efd_write(&mut k, e, 1), Err(EAGAIN));
    // A blocking eventfd waits (the fake kernel: EINTR, nothing else will run).
    let b = k.sys(nr::EVENTFD2, &[0, 1]).unwrap();
    assert_eq!(efd_read(&mut k, b), Err(EINTR));
    efd_write(&mut k, b, 3).unwrap();
    assert_eq!(efd_read(&mut k, b), Ok(1), "semaphore");
    assert_eq!(efd_read(&mut k, b), Ok(1));
    let old = k.sys(nr::EVENTFD, &[2]).unwrap();
    assert_eq!(k.sys(nr::FCNTL, &[old, 3, 0]), Ok(u64::from(O_RDWR)));
    assert_eq!(efd_read(&mut k, old), Ok(2));
}

#[test]
fn epoll_ctl_errors() {
    let mut k = FakeKernel::new();
    assert_eq!(k.sys(nr::EPOLL_CREATE, &[0]), Err(EINVAL));
    assert_eq!(k.sys(nr::EPOLL_CREATE1, &[1]), Err(EINVAL));
    let ep = k.sys(nr::EPOLL_CREATE1, &[u64::from(O_CLOEXEC)]).unwrap();
    assert_eq!(k.sys(nr::FCNTL, &[ep, 1, 0]), Ok(1));
    let (r, w) = pipe(&mut k, 0);
    let reg = k.open("/f", O_CREAT | O_RDWR, 0o600).unwrap();
    assert_eq!(ctl(&mut k, ep, ADD, 99, EPOLLIN, 0), Err(EBADF));
    assert_eq!(ctl(&mut k, 99, ADD, r, EPOLLIN, 0), Err(EBADF));
    assert_eq!(ctl(&mut k, ep, ADD, reg, EPOLLIN, 0), Err(EPERM));
    assert_eq!(ctl(&mut k, ep, ADD, ep, EPOLLIN, 0), Err(EINVAL));
    assert_eq!(
        ctl(&mut k, w, ADD, r, EPOLLIN, 0),
        Err(EINVAL),
        "not an epoll"
    );
    assert_eq!(k.sys(nr::EPOLL_CTL, &[ep, ADD, r, 8]), Err(EFAULT));
    assert_eq!(ctl(&mut k, ep, MOD, r, EPOLLIN, 0), Err(ENOENT));
    assert_eq!(k.sys(nr::EPOLL_CTL, &[ep, DEL, r, 0]), Err(ENOENT));
    assert_eq!(ctl(&mut k, ep, ADD, r, EPOLLIN, 0), Ok(0));
    assert_eq!(ctl(&mut k, ep, ADD, r, EPOLLIN, 0), Err(EEXIST));
    assert_eq!(ctl(&mut k, ep, 7, r, EPOLLIN, 0), Err(EINVAL));
    assert_eq!(ctl(&mut k, ep, ADD, w, EPOLLOUT | EPOLLEXCLUSIVE, 0), Ok(0));
    assert_eq!(
        ctl(&mut k, ep, MOD, w, EPOLLOUT, 0),
        Err(EINVAL),
        "was exclusive"
    );
    assert_eq!(
        ctl(&mut k, ep, MOD, r, EPOLLIN | EPOLLEXCLUSIVE, 0),
        Err(EINVAL)
    );
    let (r2, _w2) = pipe(&mut k, 0);
    assert_eq!(
        ctl(&mut k, ep, ADD, r2, EPOLLPRI | EPOLLEXCLUSIVE, 0),
        Err(EINVAL)
    );
    assert_eq!(k.sys(nr::EPOLL_CTL, &[ep, DEL, r, 0]), Ok(0));
    // Nesting: no cycles, and not deeper than Linux allows.
    let a = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    let b = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    assert_eq!(
        ctl(&mut k, a, ADD, b, EPOLLIN | EPOLLEXCLUSIVE, 0),
        Err(EINVAL)
    );
    assert_eq!(ctl(&mut k, a, ADD, b, EPOLLIN, 0), Ok(0));
    assert_eq!(ctl(&mut k, b, ADD, a, EPOLLIN, 0), Err(ELOOP));
    let c = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    assert_eq!(ctl(&mut k, b, ADD, c, EPOLLIN, 0), Ok(0));
    assert_eq!(ctl(&mut k, c, ADD, a, EPOLLIN, 0), Err(ELOOP));
}

#[test]
fn epoll_wait_levels_edges_and_oneshot() {
    let mut k = FakeKernel::new();
    let ep = k.sys(nr::EPOLL_CREATE, &[1]).unwrap();
    let (r, w) = pipe(&mut k, O_NONBLOCK);
    assert_eq!(wait(&mut k, ep, 0, 0), Err(EINVAL));
    assert_eq!(wait(&mut k, 99, 1, 0), Err(EBADF));
    assert_eq!(wait(&mut k, r, 1, 0), Err(EINVAL));
    assert_eq!(
        k.sys(nr::EPOLL_WAIT, &[ep, 0x7fff_ffff_fff0, 4, 0]),
        Err(EFAULT)
    );
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]));
    assert_eq!(
        wait(&mut k, ep, 4, -1),
        Err(EINTR),
        "nothing will ever come"
    );
    ctl(&mut k, ep, ADD, r, EPOLLIN, 0x1234_5678_9abc).unwrap();
    ctl(&mut k, ep, ADD, w, EPOLLOUT | EPOLLET, 7).unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![(EPOLLOUT, 7)]));
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]), "edge-triggered: once");
    k.write(w, b"hi").unwrap();
    let got = wait(&mut k, ep, 4, 0).unwrap();
    assert!(got.contains(&(EPOLLIN, 0x1234_5678_9abc)));
    assert_eq!(
        wait(&mut k, ep, 4, 0).unwrap(),
        vec![(EPOLLIN, 0x1234_5678_9abc)],
        "level-triggered: again"
    );
    // Edge-triggered read end: a new write is a new edge even if data was there.
    ctl(&mut k, ep, MOD, r, EPOLLIN | EPOLLET, 1).unwrap();
    ctl(&mut k, ep, DEL, w, 0, 0).unwrap();
    assert_eq!(
        wait(&mut k, ep, 4, 0),
        Ok(vec![(EPOLLIN, 1)]),
        "MOD re-reports"
    );
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]));
    k.write(w, b"more").unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![(EPOLLIN, 1)]));
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]));
    k.read(r, 1).unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]), "a read brings no input");
    k.read(r, 100).unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]));
    // One-shot: reported once, then silent until re-armed with MOD.
    ctl(&mut k, ep, MOD, r, EPOLLIN | EPOLLONESHOT, 2).unwrap();
    k.write(w, b"x").unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![(EPOLLIN, 2)]));
    k.write(w, b"y").unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]));
    ctl(&mut k, ep, MOD, r, EPOLLIN | EPOLLONESHOT, 3).unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![(EPOLLIN, 3)]));
    // Hang-up: the writer gone, EPOLLHUP comes unasked.
    ctl(&mut k, ep, MOD, r, EPOLLIN, 4).unwrap();
    k.sys(nr::CLOSE, &[w]).unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![(EPOLLIN | EPOLLHUP, 4)]));
}

#[test]
fn epoll_entries_follow_the_description() {
    let mut k = FakeKernel::new();
    let ep = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    let e = k.sys(nr::EVENTFD2, &[1, 0]).unwrap();
    ctl(&mut k, ep, ADD, e, EPOLLIN, 9).unwrap();
    let d = k.sys(nr::DUP, &[e]).unwrap();
    k.sys(nr::CLOSE, &[e]).unwrap();
    assert_eq!(
        wait(&mut k, ep, 4, 0),
        Ok(vec![(EPOLLIN, 9)]),
        "a dup keeps it"
    );
    assert_eq!(k.sys(nr::EPOLL_CTL, &[ep, DEL, e, 0]), Err(EBADF));
    // The same description under another number is another entry.
    assert_eq!(ctl(&mut k, ep, ADD, d, EPOLLIN, 10), Ok(0));
    assert_eq!(wait(&mut k, ep, 4, 0).unwrap().len(), 2);
    k.sys(nr::CLOSE, &[d]).unwrap();
    assert_eq!(wait(&mut k, ep, 4, 0), Ok(vec![]), "last descriptor closed");
    // The number reused by a new file: no stale entry in the way.
    let e2 = k.sys(nr::EVENTFD2, &[1, 0]).unwrap();
    assert_eq!(ctl(&mut k, ep, ADD, e2, EPOLLIN, 11), Ok(0));
}

#[test]
fn epoll_round_robin_and_nesting() {
    let mut k = FakeKernel::new();
    let ep = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    let fds: Vec<u64> = (0..3)
        .map(|_| k.sys(nr::EVENTFD2, &[1, 0]).unwrap())
        .collect();
    for (i, &f) in fds.iter().enumerate() {
        ctl(&mut k, ep, ADD, f, EPOLLIN, i as u64).unwrap();
    }
    let seen: Vec<u64> = (0..6)
        .map(|_| wait(&mut k, ep, 1, 0).unwrap()[0].1)
        .collect();
    assert_eq!(seen, vec![0, 1, 2, 0, 1, 2], "maxevents 1 goes round");
    // An epoll inside an epoll, and inside poll(2).
    let outer = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    ctl(&mut k, outer, ADD, ep, EPOLLIN, 100).unwrap();
    assert_eq!(wait(&mut k, outer, 4, 0), Ok(vec![(EPOLLIN, 100)]));
    let pfd = k.alloc(8);
    let mut b = (ep as i32).to_le_bytes().to_vec();
    b.extend_from_slice(&[1, 0, 0, 0]);
    k.mem.poke(pfd, &b).unwrap();
    assert_eq!(k.sys(nr::POLL, &[pfd, 1, 0]), Ok(1));
    for &f in &fds {
        efd_read(&mut k, f).unwrap();
    }
    assert_eq!(wait(&mut k, outer, 4, 0), Ok(vec![]));
    assert_eq!(k.sys(nr::POLL, &[pfd, 1, 0]), Ok(0));
    // The outer instance sleeps on the inner one's files too.
    let mut keys = Vec::new();
    let f = k
        .with_caps(|sys, t| t.get(sys, outer as i64, caps::Rights::empty()))
        .unwrap();
    f.ops.wait_keys(&mut keys);
    assert_eq!(keys.len(), 5, "outer, inner and three eventfds");
}

#[test]
fn epoll_pwait_forms() {
    let mut k = FakeKernel::new();
    let ep = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    let e = k.sys(nr::EVENTFD2, &[1, 0]).unwrap();
    ctl(&mut k, ep, ADD, e, EPOLLIN | EPOLLOUT, 5).unwrap();
    let out = k.alloc(24);
    let mask = k.alloc(8);
    assert_eq!(
        k.sys(nr::EPOLL_PWAIT, &[ep, out, 2, 0, mask, 4]),
        Err(EINVAL)
    );
    assert_eq!(k.sys(nr::EPOLL_PWAIT, &[ep, out, 2, 0, mask, 8]), Ok(1));
    let ts = k.alloc(16);
    k.mem.poke(ts, &[0u8; 16]).unwrap();
    assert_eq!(k.sys(nr::EPOLL_PWAIT2, &[ep, out, 2, ts, 0, 0]), Ok(1));
    let mut bad = 0i64.to_le_bytes().to_vec();
    bad.extend_from_slice(&2_000_000_000i64.to_le_bytes());
    k.mem.poke(ts, &bad).unwrap();
    assert_eq!(
        k.sys(nr::EPOLL_PWAIT2, &[ep, out, 2, ts, 0, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        u32::from_le_bytes(k.mem.peek(out, 4).unwrap().try_into().unwrap()),
        EPOLLIN | EPOLLOUT
    );
}

fn itimerspec(k: &mut FakeKernel, interval_ns: u64, value_ns: u64) -> u64 {
    let at = k.alloc(32);
    let mut b = Vec::new();
    for v in [interval_ns, value_ns] {
        b.extend_from_slice(&((v / 1_000_000_000) as i64).to_le_bytes());
        b.extend_from_slice(&((v % 1_000_000_000) as i64).to_le_bytes());
    }
    k.mem.poke(at, &b).unwrap();
    at
}

fn gettime(k: &mut FakeKernel, fd: u64) -> (u64, u64) {
    let at = k.alloc(32);
    k.sys(nr::TIMERFD_GETTIME, &[fd, at]).unwrap();
    let b = k.mem.peek(at, 32).unwrap();
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    (w(0) * 1_000_000_000 + w(1), w(2) * 1_000_000_000 + w(3))
}

#[test]
fn timerfd_calls() {
    const MS: u64 = 1_000_000;
    test_clock::set(10_000 * MS);
    let mut k = FakeKernel::new();
    assert_eq!(k.sys(nr::TIMERFD_CREATE, &[2, 0]), Err(EINVAL), "CPU clock");
    assert_eq!(k.sys(nr::TIMERFD_CREATE, &[1, 1]), Err(EINVAL));
    let t = k
        .sys(nr::TIMERFD_CREATE, &[1, u64::from(O_NONBLOCK)])
        .unwrap();
    let e = k.sys(nr::EVENTFD2, &[0, 0]).unwrap();
    let spec = itimerspec(&mut k, 100 * MS, 50 * MS);
    assert_eq!(k.sys(nr::TIMERFD_SETTIME, &[e, 0, spec, 0]), Err(EINVAL));
    assert_eq!(k.sys(nr::TIMERFD_SETTIME, &[99, 0, spec, 0]), Err(EBADF));
    assert_eq!(k.sys(nr::TIMERFD_SETTIME, &[t, 4, spec, 0]), Err(EINVAL));
    assert_eq!(k.sys(nr::TIMERFD_SETTIME, &[t, 0, 8, 0]), Err(EFAULT));
    assert_eq!(k.read(t, 8), Err(EAGAIN));
    assert_eq!(k.sys(nr::TIMERFD_SETTIME, &[t, 0, spec, 0]), Ok(0));
    assert_eq!(gettime(&mut k, t), (100 * MS, 50 * MS));
    let ep = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    ctl(&mut k, ep, ADD, t, EPOLLIN, 3).unwrap();
    assert_eq!(wait(&mut k, ep, 1, 0), Ok(vec![]));
    test_clock::advance(260 * MS);
    assert_eq!(wait(&mut k, ep, 1, 0), Ok(vec![(EPOLLIN, 3)]));
    assert_eq!(efd_read(&mut k, t), Ok(3), "at 50, 150 and 250 ms");
    assert_eq!(efd_read(&mut k, t), Err(EAGAIN));
    assert_eq!(k.read(t, 4), Err(EINVAL));
    // The old setting comes back; zero disarms.
    let old = k.alloc(32);
    let zero = itimerspec(&mut k, 0, 0);
    assert_eq!(k.sys(nr::TIMERFD_SETTIME, &[t, 0, zero, old]), Ok(0));
    let b = k.mem.peek(old, 32).unwrap();
    assert_eq!(
        i64::from_le_bytes(b[24..32].try_into().unwrap()),
        90_000_000
    );
    assert_eq!(gettime(&mut k, t), (0, 0));
    // Absolute on CLOCK_MONOTONIC, already past: expires at once.
    let past = itimerspec(&mut k, 0, 5_000 * MS);
    k.sys(nr::TIMERFD_SETTIME, &[t, 1, past, 0]).unwrap();
    assert_eq!(efd_read(&mut k, t), Ok(1));
    // Blocking read of an unexpired timer waits (EINTR on the fake kernel).
    let b = k.sys(nr::TIMERFD_CREATE, &[0, 0]).unwrap();
    assert_eq!(k.read(b, 8), Err(EINTR));
}

#[test]
fn signalfd_calls() {
    use crate::signal::{bit, SigInfo, Signals, SIGUSR1};
    let mut k = FakeKernel::new();
    let mask = k.alloc(8);
    k.mem.poke(mask, &bit(SIGUSR1).to_le_bytes()).unwrap();
    let minus1 = -1i64 as u64;
    assert_eq!(k.sys(nr::SIGNALFD4, &[minus1, mask, 4, 0]), Err(EINVAL));
    assert_eq!(k.sys(nr::SIGNALFD4, &[minus1, 8, 8, 0]), Err(EFAULT));
    assert_eq!(k.sys(nr::SIGNALFD4, &[minus1, mask, 8, 1]), Err(EINVAL));
    assert_eq!(k.sys(nr::SIGNALFD4, &[99, mask, 8, 0]), Err(EBADF));
    let e = k.sys(nr::EVENTFD2, &[0, 0]).unwrap();
    assert_eq!(k.sys(nr::SIGNALFD4, &[e, mask, 8, 0]), Err(EINVAL));
    let mut sigs = Signals {
        blocked: bit(SIGUSR1),
        ..Default::default()
    };
    sigs.post(SigInfo {
        signo: SIGUSR1,
        pid: 42,
        ..Default::default()
    });
    super::signalfd::test_signals::set(sigs);
    let s = k
        .sys(nr::SIGNALFD4, &[minus1, mask, 8, u64::from(O_NONBLOCK)])
        .unwrap();
    assert_eq!(k.sys(nr::SIGNALFD, &[s, mask, 8]), Ok(s), "a new mask");
    let rec = k.read(s, 128).unwrap();
    assert_eq!(rec.len(), 128);
    assert_eq!(u32::from_le_bytes(rec[12..16].try_into().unwrap()), 42);
    assert_eq!(k.read(s, 128), Err(EAGAIN));
}

#[test]
fn epoll_pwait_mask_stays_for_the_handler() {
    let mut k = FakeKernel::new();
    let ep = k.sys(nr::EPOLL_CREATE1, &[0]).unwrap();
    k.signals(|s| s.blocked = 0b110);
    let out = k.alloc(12);
    let mask = k.alloc(8);
    k.mem.poke(mask, &0b1000u64.to_le_bytes()).unwrap();
    // Nothing will come: the fake kernel's wait ends with EINTR, as a signal would.
    assert_eq!(
        k.sys(nr::EPOLL_PWAIT, &[ep, out, 1, u64::MAX, mask, 8]),
        Err(EINTR)
    );
    assert_eq!(
        k.signals(|s| (s.blocked, s.saved_mask)),
        (0b1000, Some(0b110)),
        "the temporary mask stays for the handler; sigreturn restores the old one"
    );
    k.signals(|s| s.restore_saved_mask());
    // A wait that ends otherwise puts the old mask back at once.
    assert_eq!(k.sys(nr::EPOLL_PWAIT, &[ep, out, 1, 0, mask, 8]), Ok(0));
    assert_eq!(k.signals(|s| (s.blocked, s.saved_mask)), (0b110, None));
}
