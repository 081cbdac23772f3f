//! Decoder fuzzing: arbitrary labels, words and CPtrs thrown at every object type
//! (CNode, Budget, an outside type) only ever produce a reply or a typed error; an
//! error leaves the system exactly as it was (the capDL dump is unchanged), and the
//! invariants hold after every call.

mod common;

use caps::{CapSystem, Rights, Slot};
use common::*;
use proptest::prelude::*;

/// A process with probes, a second budget, a badged copy, and copies of its own fd
/// and authority CNode caps in authority slots 1 and 2, so CNode and Budget
/// invocations are reachable by CPtr.
fn world() -> (CapSystem, Process, Finals) {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 4, 20_000);
    let f = finals();
    let root = sys.cap_at(Slot::root(p.cs)).unwrap();
    for (from, to) in [(0, 1), (1, 2)] {
        let src = sys.slot_of(&root, from).unwrap();
        let dst = sys.cnode_slot(p.auth, to).unwrap();
        sys.copy(src, dst, Rights::ALL).unwrap();
    }
    for fd in 0..4 {
        let dst = sys.cnode_slot(p.fds, fd).unwrap();
        sys.create_object(p.budget, dst, probe(fd as u64, &f), Rights::ALL)
            .unwrap();
    }
    let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
    let fd5 = sys.cnode_slot(p.fds, 5).unwrap();
    sys.mint(fd0, fd5, Rights::READ | Rights::DUP, 9).unwrap();
    let b2 = sys.cnode_slot(p.auth, 3).unwrap();
    sys.create_budget(Some(p.budget), b2, 1000).unwrap();
    (sys, p, f)
}

/// Mostly CPtrs that name something (fds 0..6, authority slots 0..4), some that
/// do not (empty fds, bits in guards), some anything.
fn cptr() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..6,
        4 => (0u64..4).prop_map(|k| (1 << 60) | k),
        1 => 0u64..16,
        1 => any::<u64>(),
    ]
}

/// Words that are often valid slot indices and depths (60 = a full fd or authority
/// CNode level), sometimes rights masks or sizes, sometimes anything.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..16,
        3 => Just(60),
        1 => 0u64..70,
        1 => Just(0xffff_ffff_0000_000f),
        1 => any::<u64>(),
    ]
}

#[derive(Debug, Clone)]
struct Call {
    cptr: u64,
    label: u64,
    words: Vec<u64>,
    extra: Vec<u64>,
}

/// Nearly well-formed CNode and Budget calls, so decoders get past their first
/// checks and performs actually run: slot words with depth 60, a CNode root as
/// extra cap, small rights masks and badges.
fn shaped_call() -> impl Strategy<Value = Call> {
    let cnode = prop_oneof![Just((1u64 << 60) | 1), Just((1u64 << 60) | 2)];
    let budget = prop_oneof![Just(1u64 << 60), Just((1u64 << 60) | 3)];
    let slot = || prop_oneof![3 => 0u64..16, 1 => any::<u64>()];
    let depth = || prop_oneof![6 => Just(60u64), 1 => 0u64..70];
    prop_oneof![
        (
            cnode.clone(),
            1u64..8,
            (slot(), depth(), slot(), depth(), 0u64..16, 0u64..4),
            prop::collection::vec(cnode.clone(), 0..3),
        )
            .prop_map(|(cptr, label, (a, b, c, d, e, f), extra)| Call {
                cptr,
                label,
                words: vec![a, b, c, d, e, f],
                extra,
            }),
        (
            budget,
            1u64..3,
            0u64..3000,
            slot(),
            depth(),
            prop::collection::vec(cnode, 0..2)
        )
            .prop_map(|(cptr, label, bytes, idx, depth, extra)| Call {
                cptr,
                label,
                words: vec![bytes, idx, depth],
                extra,
            }),
    ]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![1 => free_call(), 1 => shaped_call()]
}

fn free_call() -> impl Strategy<Value = Call> {
    (
        cptr(),
        prop_oneof![8 => 0u64..9, 1 => any::<u64>()],
        prop::collection::vec(word(), 0..8),
        prop_oneof![8 => prop::collection::vec(cptr(), 0..3), 1 => prop::collection::vec(cptr(), 3..5)],
    )
        .prop_map(|(cptr, label, words, extra)| Call {
            cptr,
            label,
            words,
            extra,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_invocations_give_typed_errors_and_no_half_done_state(
        calls in prop::collection::vec(call(), 1..30)
    ) {
        let (mut sys, p, _f) = world();
        for c in &calls {
            let before = sys.capdl();
            match sys.invoke(p.cs, c.cptr, c.label, &c.words, &c.extra) {
                Ok(r) => prop_assert!(r.words().len() <= caps::MAX_REPLY_WORDS),
                Err(e) => {
                    prop_assert!((1..=11).contains(&e.code()));
                    prop_assert_eq!(&sys.capdl(), &before, "error {:?} changed state", e);
                }
            }
            let v = sys.check();
            prop_assert!(v.is_empty(), "{:?} after {:?}", v, c);
        }
    }
}
