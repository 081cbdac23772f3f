//! Revoke, delete and finalization never recurse: 100 000-deep derivation chains and
//! 100 000-deep CNode nests are torn down on a 16 KiB thread stack (a kernel stack's
//! size), and revoking 10 000 descendants costs about 100 times revoking 100.

mod common;

use caps::{CapSystem, Rights, Slot};
use common::*;

const DEEP: u32 = 100_000;
const SMALL_STACK: usize = 16 * 1024;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// A process whose fd CNode holds a copy chain fd0 <- fd1 <- ... <- fd(DEEP-1).
fn chain() -> (CapSystem, Process, Finals) {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 17, 1 << 30);
    let f = finals();
    let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
    sys.create_object(p.budget, fd0, probe(1, &f), Rights::ALL)
        .unwrap();
    for i in 1..DEEP {
        let src = sys.cnode_slot(p.fds, i - 1).unwrap();
        let dst = sys.cnode_slot(p.fds, i).unwrap();
        sys.copy(src, dst, Rights::ALL).unwrap();
    }
    (sys, p, f)
}

#[test]
fn revoke_of_a_100k_chain_on_a_16k_stack() {
    let (mut sys, p, f) = chain();
    let oid = sys.cap_at(sys.cnode_slot(p.fds, 0).unwrap()).unwrap().oid;
    let sys = on_small_stack(move || {
        let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
        sys.revoke(fd0).unwrap();
        sys
    });
    assert_eq!(sys.cap_count(oid), 1);
    assert!(f.lock().unwrap().is_empty());
    assert_clean(&sys);
}

#[test]
fn deleting_a_cnode_holding_a_100k_chain_on_a_16k_stack() {
    let (mut sys, p, f) = chain();
    let sys = on_small_stack(move || {
        // The fd CNode's only cap is root slot 0; deleting it finalizes the CNode,
        // which deletes the whole chain and then the probe.
        let root = sys.cap_at(Slot::root(p.cs)).unwrap();
        let s = sys.slot_of(&root, 0).unwrap();
        sys.delete(s).unwrap();
        sys
    });
    assert_eq!(f.lock().unwrap().get(&1), Some(&1));
    assert_clean(&sys);
}

#[test]
fn deleting_a_100k_deep_cnode_nest_on_a_16k_stack() {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 4, 1 << 30);
    let f = finals();
    // fd 0 -> CNode 1; its slot 0 -> CNode 2; ...; the last holds a probe.
    let mut holder = sys.cnode_slot(p.fds, 0).unwrap();
    for _ in 0..DEEP {
        let c = sys.create_cnode(p.budget, holder, 1, 0, 0).unwrap();
        holder = sys.slot_of(&c, 0).unwrap();
    }
    sys.create_object(p.budget, holder, probe(9, &f), Rights::ALL)
        .unwrap();
    let before = sys.object_count();
    let sys = on_small_stack(move || {
        let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
        sys.delete(fd0).unwrap();
        sys
    });
    assert_eq!(sys.object_count(), before - DEEP as usize - 1);
    assert_eq!(f.lock().unwrap().get(&9), Some(&1));
    assert_clean(&sys);
}

#[test]
fn revoking_a_budget_with_100k_objects_on_a_16k_stack() {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 17, 1 << 30);
    let f = finals();
    for i in 0..DEEP {
        let dst = sys.cnode_slot(p.fds, i).unwrap();
        sys.create_object(p.budget, dst, probe(i as u64, &f), Rights::ALL)
            .unwrap();
    }
    let sys = on_small_stack(move || {
        sys.revoke(p.budget).unwrap();
        sys
    });
    let finals = f.lock().unwrap();
    assert_eq!(finals.len(), DEEP as usize);
    assert!(finals.values().all(|&n| n == 1));
    assert_clean(&sys);
}

#[test]
fn revoke_cost_is_linear_in_caps_removed() {
    // Wide trees: one parent, n children. Time per removed cap must not grow with n
    // by more than a generous factor (a quadratic walk would grow 100x).
    fn per_cap(n: u32) -> f64 {
        let mut sys = CapSystem::new();
        let p = process(&mut sys, 17, 1 << 30);
        let f = finals();
        let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
        sys.create_object(p.budget, fd0, probe(1, &f), Rights::ALL)
            .unwrap();
        for i in 1..=n {
            let dst = sys.cnode_slot(p.fds, i).unwrap();
            // Half chain, half fan-out, so both shapes are in the walk.
            let src = sys
                .cnode_slot(p.fds, if i % 2 == 0 { i - 1 } else { 0 })
                .unwrap();
            sys.copy(src, dst, Rights::ALL).unwrap();
        }
        let t = std::time::Instant::now();
        sys.revoke(fd0).unwrap();
        t.elapsed().as_nanos() as f64 / n as f64
    }
    let small = (0..5).map(|_| per_cap(1_000)).fold(f64::MAX, f64::min);
    let large = (0..5).map(|_| per_cap(100_000)).fold(f64::MAX, f64::min);
    assert!(
        large < small * 10.0,
        "per-cap revoke cost grew from {small:.1} ns to {large:.1} ns"
    );
}
