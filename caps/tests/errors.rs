//! Every error case of the capability operations and invocations, one test each,
//! plus the behaviours they guard (move keeps children, revoke reaches other
//! CSpaces, budgets refund, resize keeps fd CPtrs).

mod common;

use caps::budget::label as blabel;
use caps::cnode::label;
use caps::{CapSystem, Error, LookupFault, Rights, Slot};
use common::*;

fn setup() -> (CapSystem, Process, Finals) {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 4, 10_000);
    (sys, p, finals())
}

/// fd slot `n` of process `p`.
fn fd(sys: &CapSystem, p: &Process, n: u32) -> Slot {
    sys.cnode_slot(p.fds, n).unwrap()
}

/// Put a probe in fd `n`.
fn new_probe(sys: &mut CapSystem, p: &Process, n: u32, tag: u64, f: &Finals) -> caps::Cap {
    let dst = fd(sys, p, n);
    sys.create_object(p.budget, dst, probe(tag, f), Rights::ALL)
        .unwrap()
}

/// From the fd CNode, fd N is (index N, depth = guard + radix = 60).
const FD_DEPTH: u64 = 60;
/// The root CNode's own cap can't be invoked by CPtr; the authority CNode can.
const AUTH: u64 = 1 << 60;

fn fd_cnode_cptr() -> u64 {
    // Depth-64 lookup of CPtr 0 would descend into the fd CNode (slot 0 of root)
    // and on to fd 0; to invoke the fd CNode itself we keep a copy of its cap in
    // authority slot 1.
    AUTH | 1
}

fn with_fd_cnode_cap(sys: &mut CapSystem, p: &Process) {
    let root = sys.cap_at(Slot::root(p.cs)).unwrap();
    let src = sys.slot_of(&root, 0).unwrap();
    let dst = sys.cnode_slot(p.auth, 1).unwrap();
    sys.copy(src, dst, Rights::ALL).unwrap();
}

fn copy_words(dst: u64, src: u64, rights: Rights) -> [u64; 5] {
    [dst, FD_DEPTH, src, FD_DEPTH, rights.bits()]
}

#[test]
fn lookup_faults_follow_sel4() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 3, 1, &f);
    // fd 3 resolves.
    assert!(sys.lookup_cap(p.cs, 3).is_ok());
    // Empty fd 4: missing capability.
    assert_eq!(
        sys.lookup_cap(p.cs, 4).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::MissingCapability { bits_left: 0 }
        }
    );
    // A set bit inside the fd CNode's guard: guard mismatch with 60 bits left.
    assert_eq!(
        sys.lookup_cap(p.cs, 1 << 40).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::GuardMismatch {
                bits_left: 60,
                guard_found: 0,
                guard_size: 56
            }
        }
    );
    // Depth 10 runs out inside the fd CNode's level (needs 60 more bits, 6 left).
    assert_eq!(
        sys.lookup_slot(p.cs, 0, 10).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::GuardMismatch {
                bits_left: 6,
                guard_found: 0,
                guard_size: 56
            }
        }
    );
    // Radix-only CNode gives a real DepthMismatch: the root needs 4 bits.
    assert_eq!(
        sys.lookup_slot(p.cs, 0, 3).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::DepthMismatch {
                bits_found: 4,
                bits_left: 3
            }
        }
    );
    // A slot-naming lookup that stops at a non-CNode with bits left over.
    let stray = sys.cnode_slot(p.auth, 2).unwrap();
    sys.create_object(p.budget, stray, probe(2, &f), Rights::ALL)
        .unwrap();
    let root = sys.cap_at(Slot::root(p.cs)).unwrap();
    let r2 = sys.slot_of(&root, 2).unwrap();
    sys.copy(stray, r2, Rights::ALL).unwrap();
    assert_eq!(
        sys.lookup_slot(p.cs, 2 << 60, 64).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::DepthMismatch {
                bits_found: 0,
                bits_left: 60
            }
        }
    );
    // ...while an invocation may stop there.
    assert!(sys.invoke(p.cs, 2 << 60, NOP, &[], &[]).is_ok());
    // A CSpace whose root is gone: invalid root.
    let cs2 = sys.create_cspace(None, 2, 0, 0).unwrap();
    sys.destroy_cspace(cs2).unwrap();
    assert_eq!(
        sys.lookup_cap(cs2, 0).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::InvalidRoot
        }
    );
    assert_eq!(
        sys.lookup_cap(caps::CSpaceId(999), 0).unwrap_err(),
        Error::FailedLookup {
            source: false,
            fault: LookupFault::InvalidRoot
        }
    );
    assert_clean(&sys);
}

#[test]
fn copy_errors() {
    let (mut sys, p, f) = setup();
    with_fd_cnode_cap(&mut sys, &p);
    new_probe(&mut sys, &p, 3, 1, &f);
    new_probe(&mut sys, &p, 5, 2, &f);
    let me = fd_cnode_cptr();
    let inv = |sys: &mut CapSystem, l, w: &[u64], c: &[u64]| sys.invoke(p.cs, me, l, w, c);
    // Success first: fd 4 = dup(fd 3) with fewer rights.
    let w = copy_words(4, 3, Rights::READ | Rights::DUP);
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Ok(caps::Reply::empty())
    );
    assert_eq!(
        sys.cap_at(fd(&sys, &p, 4)).unwrap().rights,
        Rights::READ | Rights::DUP
    );
    assert_eq!(sys.cdt_parent(fd(&sys, &p, 4)), Some(fd(&sys, &p, 3)));
    // Destination occupied.
    let w = copy_words(5, 3, Rights::READ);
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Err(Error::DeleteFirst)
    );
    // Empty source.
    let w = copy_words(6, 7, Rights::READ);
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Err(Error::FailedLookup {
            source: true,
            fault: LookupFault::MissingCapability { bits_left: 0 }
        })
    );
    // Asking for rights the source lacks (fd 4 has no WRITE): explicit error.
    let w = copy_words(6, 4, Rights::READ | Rights::WRITE);
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Err(Error::InsufficientRights {
            missing: Rights::WRITE.bits()
        })
    );
    // Source without DUP cannot be copied at all.
    let w = copy_words(6, 3, Rights::READ);
    inv(&mut sys, label::COPY, &w, &[me]).unwrap();
    let w = copy_words(7, 6, Rights::READ);
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Err(Error::InsufficientRights {
            missing: Rights::DUP.bits()
        })
    );
    // Truncated: too few words, no source root.
    assert_eq!(
        inv(&mut sys, label::COPY, &w[..4], &[me]),
        Err(Error::TruncatedMessage)
    );
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[]),
        Err(Error::TruncatedMessage)
    );
    // Depth out of range.
    let w = [8, 0, 3, FD_DEPTH, 1];
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Err(Error::RangeError { min: 1, max: 64 })
    );
    let w = [8, 65, 3, FD_DEPTH, 1];
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me]),
        Err(Error::RangeError { min: 1, max: 64 })
    );
    // Source root that is not a CNode (fd 3 is a probe).
    let w = copy_words(8, 3, Rights::READ);
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[3]),
        Err(Error::FailedLookup {
            source: true,
            fault: LookupFault::InvalidRoot
        })
    );
    // Unknown label.
    assert_eq!(inv(&mut sys, 99, &w, &[me]), Err(Error::IllegalOperation));
    // Too many extra caps.
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[me, me, me, me]),
        Err(Error::RangeError { min: 0, max: 3 })
    );
    // An extra cap CPtr that does not resolve.
    assert_eq!(
        inv(&mut sys, label::COPY, &w, &[9]),
        Err(Error::FailedLookup {
            source: true,
            fault: LookupFault::MissingCapability { bits_left: 0 }
        })
    );
    assert_clean(&sys);
}

#[test]
fn cnode_rights_are_checked() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 3, 1, &f);
    // A read-only copy of the fd CNode cap in authority slot 2.
    let root = sys.cap_at(Slot::root(p.cs)).unwrap();
    let src = sys.slot_of(&root, 0).unwrap();
    let ro = sys.cnode_slot(p.auth, 2).unwrap();
    sys.copy(src, ro, Rights::READ).unwrap();
    let ro_cptr = AUTH | 2;
    let w = copy_words(4, 3, Rights::READ);
    assert_eq!(
        sys.invoke(p.cs, ro_cptr, label::COPY, &w, &[ro_cptr]),
        Err(Error::InsufficientRights {
            missing: Rights::WRITE.bits()
        })
    );
    assert_eq!(
        sys.invoke(p.cs, ro_cptr, label::DELETE, &[3, FD_DEPTH], &[]),
        Err(Error::InsufficientRights {
            missing: Rights::WRITE.bits()
        })
    );
    // Move needs WRITE on the source root too.
    with_fd_cnode_cap(&mut sys, &p);
    let w = [4, FD_DEPTH, 3, FD_DEPTH];
    assert_eq!(
        sys.invoke(p.cs, fd_cnode_cptr(), label::MOVE, &w, &[ro_cptr]),
        Err(Error::InsufficientRights {
            missing: Rights::WRITE.bits()
        })
    );
    assert!(sys.cap_at(fd(&sys, &p, 3)).is_some());
    assert_clean(&sys);
}

#[test]
fn mint_badges_never_change() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 0, 1, &f);
    let c = sys
        .mint(fd(&sys, &p, 0), fd(&sys, &p, 1), Rights::ALL, 7)
        .unwrap();
    assert_eq!(c.badge, 7);
    // Re-minting the same badge is fine; another badge is not.
    sys.mint(fd(&sys, &p, 1), fd(&sys, &p, 2), Rights::READ, 7)
        .unwrap();
    assert_eq!(
        sys.mint(fd(&sys, &p, 1), fd(&sys, &p, 3), Rights::READ, 8),
        Err(Error::InvalidArgument { index: 5 })
    );
    // A plain copy of a badged cap keeps the badge.
    let c = sys
        .copy(fd(&sys, &p, 2), fd(&sys, &p, 3), Rights::READ)
        .unwrap();
    assert_eq!(c.badge, 7);
    assert_clean(&sys);
}

#[test]
fn move_keeps_children_and_rotate_swaps() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 0, 1, &f);
    sys.copy(fd(&sys, &p, 0), fd(&sys, &p, 1), Rights::READ)
        .unwrap();
    sys.move_cap(fd(&sys, &p, 0), fd(&sys, &p, 9)).unwrap();
    assert_eq!(sys.cdt_parent(fd(&sys, &p, 1)), Some(fd(&sys, &p, 9)));
    assert_eq!(
        sys.move_cap(fd(&sys, &p, 0), fd(&sys, &p, 2)),
        Err(Error::FailedLookup {
            source: true,
            fault: LookupFault::MissingCapability { bits_left: 0 }
        })
    );
    assert_eq!(
        sys.move_cap(fd(&sys, &p, 9), fd(&sys, &p, 1)),
        Err(Error::DeleteFirst)
    );
    assert_eq!(
        sys.move_cap(fd(&sys, &p, 9), fd(&sys, &p, 9)),
        Err(Error::DeleteFirst)
    );
    // Revoking the moved parent still finds the child.
    sys.revoke(fd(&sys, &p, 9)).unwrap();
    assert!(sys.cap_at(fd(&sys, &p, 1)).is_none());
    // Rotate: 9 -> 2 -> ... with a swap (dst == src).
    new_probe(&mut sys, &p, 2, 2, &f);
    let a = sys.cap_at(fd(&sys, &p, 9)).unwrap();
    let b = sys.cap_at(fd(&sys, &p, 2)).unwrap();
    sys.rotate(fd(&sys, &p, 9), fd(&sys, &p, 2), fd(&sys, &p, 9))
        .unwrap();
    assert_eq!(sys.cap_at(fd(&sys, &p, 9)).unwrap().oid, b.oid);
    assert_eq!(sys.cap_at(fd(&sys, &p, 2)).unwrap().oid, a.oid);
    assert_eq!(
        sys.rotate(fd(&sys, &p, 9), fd(&sys, &p, 9), fd(&sys, &p, 4)),
        Err(Error::IllegalOperation)
    );
    assert_eq!(
        sys.rotate(fd(&sys, &p, 9), fd(&sys, &p, 2), fd(&sys, &p, 2)),
        Err(Error::IllegalOperation)
    );
    assert_eq!(
        sys.rotate(fd(&sys, &p, 9), fd(&sys, &p, 5), fd(&sys, &p, 4)),
        Err(Error::FailedLookup {
            source: true,
            fault: LookupFault::MissingCapability { bits_left: 0 }
        })
    );
    sys.copy(fd(&sys, &p, 9), fd(&sys, &p, 4), Rights::READ)
        .unwrap();
    assert_eq!(
        sys.rotate(fd(&sys, &p, 9), fd(&sys, &p, 2), fd(&sys, &p, 4)),
        Err(Error::DeleteFirst)
    );
    assert_clean(&sys);
}

#[test]
fn delete_and_revoke_errors_and_effects() {
    let (mut sys, p, f) = setup();
    // Empty slot: nothing to delete or revoke.
    let empty = Error::FailedLookup {
        source: true,
        fault: LookupFault::MissingCapability { bits_left: 0 },
    };
    assert_eq!(sys.delete(fd(&sys, &p, 0)), Err(empty));
    assert_eq!(sys.revoke(fd(&sys, &p, 0)), Err(empty));
    // A second process holds a copy of process 1's probe.
    let q = process(&mut sys, 4, 10_000);
    new_probe(&mut sys, &p, 0, 1, &f);
    let in_q = sys.cnode_slot(q.fds, 5).unwrap();
    sys.copy(fd(&sys, &p, 0), in_q, Rights::READ | Rights::DUP)
        .unwrap();
    let in_q2 = sys.cnode_slot(q.fds, 6).unwrap();
    sys.copy(in_q, in_q2, Rights::READ).unwrap();
    sys.copy(fd(&sys, &p, 0), fd(&sys, &p, 1), Rights::ALL)
        .unwrap();
    assert_eq!(sys.cap_count(sys.cap_at(in_q).unwrap().oid), 4);
    // Revoke reaches into the other CSpace and leaves the revoked cap.
    sys.revoke(fd(&sys, &p, 0)).unwrap();
    assert!(sys.cap_at(in_q).is_none() && sys.cap_at(in_q2).is_none());
    assert!(sys.cap_at(fd(&sys, &p, 1)).is_none());
    assert!(sys.cap_at(fd(&sys, &p, 0)).is_some());
    assert_eq!(f.lock().unwrap().get(&1), None);
    // Deleting the last cap finalizes once.
    sys.delete(fd(&sys, &p, 0)).unwrap();
    assert_eq!(f.lock().unwrap().get(&1), Some(&1));
    // Through the ABI: delete with a bad depth, and on an empty slot.
    with_fd_cnode_cap(&mut sys, &p);
    assert_eq!(
        sys.invoke(p.cs, fd_cnode_cptr(), label::DELETE, &[0], &[]),
        Err(Error::TruncatedMessage)
    );
    assert_eq!(
        sys.invoke(p.cs, fd_cnode_cptr(), label::REVOKE, &[0, FD_DEPTH], &[]),
        Err(empty)
    );
    assert_clean(&sys);
}

#[test]
fn delete_moves_children_up() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 0, 1, &f);
    sys.copy(fd(&sys, &p, 0), fd(&sys, &p, 1), Rights::READ | Rights::DUP)
        .unwrap();
    sys.copy(fd(&sys, &p, 1), fd(&sys, &p, 2), Rights::READ)
        .unwrap();
    sys.copy(fd(&sys, &p, 1), fd(&sys, &p, 3), Rights::DUP)
        .unwrap();
    sys.delete(fd(&sys, &p, 1)).unwrap();
    assert_eq!(sys.cdt_parent(fd(&sys, &p, 2)), Some(fd(&sys, &p, 0)));
    assert_eq!(sys.cdt_parent(fd(&sys, &p, 3)), Some(fd(&sys, &p, 0)));
    assert_eq!(sys.cdt_children(fd(&sys, &p, 0)).len(), 2);
    // Deleting a root: the children become roots, the object lives on.
    sys.delete(fd(&sys, &p, 0)).unwrap();
    assert_eq!(sys.cdt_parent(fd(&sys, &p, 2)), None);
    assert_eq!(f.lock().unwrap().get(&1), None);
    assert_clean(&sys);
}

#[test]
fn budgets_charge_refund_split_and_revoke() {
    let (mut sys, p, f) = setup();
    let (limit, used0) = sys.budget_usage(sys.cap_at(p.budget).unwrap().oid).unwrap();
    assert_eq!(limit, 10_000);
    assert_eq!(used0, 2 * (64 + 32 * 16)); // fd and authority CNodes
                                           // Split a child budget of 250 into authority slot 3 through the ABI.
    let b = AUTH; // authority slot 0 = the budget
    let auth_cnode_cap = {
        let root = sys.cap_at(Slot::root(p.cs)).unwrap();
        let src = sys.slot_of(&root, 1).unwrap();
        let dst = sys.cnode_slot(p.auth, 5).unwrap();
        sys.copy(src, dst, Rights::ALL).unwrap();
        AUTH | 5
    };
    assert_eq!(
        sys.invoke(p.cs, b, blabel::SPLIT, &[250, 3, 60], &[auth_cnode_cap]),
        Ok(caps::Reply::empty())
    );
    let child = sys.cnode_slot(p.auth, 3).unwrap();
    let r = sys.invoke(p.cs, AUTH | 3, blabel::INFO, &[], &[]).unwrap();
    assert_eq!(r.words(), &[250, 0]);
    // Errors of Split.
    assert_eq!(
        sys.invoke(p.cs, b, blabel::SPLIT, &[0, 4, 60], &[auth_cnode_cap]),
        Err(Error::InvalidArgument { index: 0 })
    );
    assert_eq!(
        sys.invoke(p.cs, b, blabel::SPLIT, &[10, 3, 60], &[auth_cnode_cap]),
        Err(Error::DeleteFirst)
    );
    assert_eq!(
        sys.invoke(p.cs, b, blabel::SPLIT, &[1 << 40, 4, 60], &[auth_cnode_cap]),
        Err(Error::NotEnoughMemory {
            needed: 1 << 40,
            available: 10_000 - used0 - 250
        })
    );
    assert_eq!(
        sys.invoke(p.cs, b, blabel::SPLIT, &[10, 4], &[auth_cnode_cap]),
        Err(Error::TruncatedMessage)
    );
    assert_eq!(
        sys.invoke(p.cs, b, 77, &[], &[]),
        Err(Error::IllegalOperation)
    );
    // Objects on the child budget: two probes fit in 250, the third does not.
    new_probe_on(&mut sys, child, &p, 0, 1, &f).unwrap();
    new_probe_on(&mut sys, child, &p, 1, 2, &f).unwrap();
    assert_eq!(
        new_probe_on(&mut sys, child, &p, 2, 3, &f).map(|_| ()),
        Err(Error::NotEnoughMemory {
            needed: 100,
            available: 50
        })
    );
    // A cap to a probe is no Budget.
    let fd0 = fd(&sys, &p, 0);
    assert_eq!(
        new_probe_on(&mut sys, fd0, &p, 2, 3, &f).map(|_| ()),
        Err(Error::InvalidCapability { index: 0 })
    );
    // A read-only budget cap cannot pay.
    let ro = sys.cnode_slot(p.auth, 4).unwrap();
    sys.copy(child, ro, Rights::READ).unwrap();
    assert_eq!(
        new_probe_on(&mut sys, ro, &p, 2, 3, &f).map(|_| ()),
        Err(Error::InsufficientRights {
            missing: Rights::WRITE.bits()
        })
    );
    // Copies of the probes elsewhere do not keep them alive past a revoke.
    sys.copy(fd(&sys, &p, 0), fd(&sys, &p, 7), Rights::READ)
        .unwrap();
    sys.move_cap(fd(&sys, &p, 1), fd(&sys, &p, 8)).unwrap();
    assert_clean(&sys);
    sys.revoke(child).unwrap();
    assert!(sys.cap_at(fd(&sys, &p, 0)).is_none());
    assert!(sys.cap_at(fd(&sys, &p, 7)).is_none());
    assert!(sys.cap_at(fd(&sys, &p, 8)).is_none());
    assert!(sys.cap_at(ro).is_none()); // a CDT child of the revoked cap
    assert_eq!(f.lock().unwrap().get(&1), Some(&1));
    assert_eq!(f.lock().unwrap().get(&2), Some(&1));
    let child_oid = sys.cap_at(child).unwrap().oid;
    assert_eq!(sys.budget_usage(child_oid), Some((250, 0)));
    // Revoking the parent budget destroys the child budget and the CNodes it paid
    // for (the whole process, since its CNodes are charged there).
    new_probe_on(&mut sys, child, &p, 0, 4, &f).unwrap();
    sys.revoke(p.budget).unwrap();
    assert!(!sys.object_exists(child_oid));
    assert_eq!(f.lock().unwrap().get(&4), Some(&1));
    assert!(!sys.object_exists(p.fds));
    assert_clean(&sys);
}

fn new_probe_on(
    sys: &mut CapSystem,
    budget: Slot,
    p: &Process,
    n: u32,
    tag: u64,
    f: &Finals,
) -> caps::Result<caps::Cap> {
    let dst = fd(sys, p, n);
    sys.create_object(budget, dst, probe(tag, f), Rights::ALL)
}

#[test]
fn last_budget_cap_deleted_destroys_its_objects() {
    let (mut sys, p, f) = setup();
    let child = sys.cnode_slot(p.auth, 3).unwrap();
    sys.create_budget(Some(p.budget), child, 500).unwrap();
    new_probe_on(&mut sys, child, &p, 0, 1, &f).unwrap();
    sys.delete(child).unwrap();
    assert!(sys.cap_at(fd(&sys, &p, 0)).is_none());
    assert_eq!(f.lock().unwrap().get(&1), Some(&1));
    assert_clean(&sys);
}

#[test]
fn resize_grows_fd_cnode_and_keeps_cptrs() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 9, 1, &f);
    let fd_cap = sys
        .cap_at(
            sys.cnode_slot(sys.cap_at(Slot::root(p.cs)).unwrap().oid, 0)
                .unwrap(),
        )
        .unwrap();
    let before = sys
        .budget_usage(sys.cap_at(p.budget).unwrap().oid)
        .unwrap()
        .1;
    sys.resize_cnode(&fd_cap, 8, 52, 0).unwrap();
    assert_eq!(sys.cnode_radix(p.fds), Some(8));
    let after = sys
        .budget_usage(sys.cap_at(p.budget).unwrap().oid)
        .unwrap()
        .1;
    assert_eq!(after - before, 32 * (256 - 16));
    // fd 9 still answers at CPtr 9; fd 200 now exists.
    assert_eq!(
        sys.lookup_cap(p.cs, 9).unwrap().1.oid,
        sys.cap_at(fd(&sys, &p, 9)).unwrap().oid
    );
    new_probe(&mut sys, &p, 200, 2, &f);
    assert!(sys.lookup_cap(p.cs, 200).is_ok());
    // Shrinking over an occupied slot: DeleteFirst. Too big: NotEnoughMemory.
    assert_eq!(sys.resize_cnode(&fd_cap, 4, 56, 0), Err(Error::DeleteFirst));
    assert!(matches!(
        sys.resize_cnode(&fd_cap, 20, 40, 0),
        Err(Error::NotEnoughMemory { .. })
    ));
    // Bad shapes.
    assert_eq!(
        sys.resize_cnode(&fd_cap, 0, 40, 0),
        Err(Error::RangeError { min: 1, max: 24 })
    );
    assert_eq!(
        sys.resize_cnode(&fd_cap, 8, 60, 0),
        Err(Error::RangeError { min: 0, max: 56 })
    );
    assert_eq!(
        sys.resize_cnode(&fd_cap, 8, 4, 16),
        Err(Error::InvalidArgument { index: 2 })
    );
    // Shrink back after emptying fd 200; through the ABI this time.
    sys.delete(fd(&sys, &p, 200)).unwrap();
    with_fd_cnode_cap(&mut sys, &p);
    assert_eq!(
        sys.invoke(p.cs, fd_cnode_cptr(), label::RESIZE, &[4, 56, 0], &[]),
        Ok(caps::Reply::empty())
    );
    assert_eq!(
        sys.invoke(p.cs, fd_cnode_cptr(), label::RESIZE, &[300, 56, 0], &[]),
        Err(Error::InvalidArgument { index: 0 })
    );
    assert_eq!(
        sys.budget_usage(sys.cap_at(p.budget).unwrap().oid)
            .unwrap()
            .1,
        before
    );
    assert_eq!(
        sys.cnode_slot(p.fds, 200),
        Err(Error::RangeError { min: 0, max: 15 })
    );
    assert_clean(&sys);
}

#[test]
fn outside_type_decode_errors_change_nothing() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 0, 1, &f);
    sys.copy(fd(&sys, &p, 0), fd(&sys, &p, 1), Rights::READ)
        .unwrap();
    let dump = sys.capdl();
    assert_eq!(
        sys.invoke(p.cs, 0, ECHO, &[1], &[]),
        Err(Error::TruncatedMessage)
    );
    assert_eq!(
        sys.invoke(p.cs, 0, ECHO, &[5000, 1], &[]),
        Err(Error::RangeError { min: 0, max: 1000 })
    );
    assert_eq!(
        sys.invoke(p.cs, 0, ECHO, &[5, 6], &[]).unwrap().words(),
        &[5, 6]
    );
    assert_eq!(
        sys.invoke(p.cs, 0, 42, &[], &[]),
        Err(Error::IllegalOperation)
    );
    assert_eq!(
        sys.invoke(p.cs, 1, SET, &[], &[]),
        Err(Error::InsufficientRights {
            missing: (Rights::WRITE | PROBE_FROB).bits()
        })
    );
    assert!(sys.invoke(p.cs, 0, SET, &[], &[]).is_ok());
    assert_eq!(sys.capdl(), dump);
    // Typed access to the object behind a cap.
    let cap = sys.cap_at(fd(&sys, &p, 0)).unwrap();
    assert_eq!(sys.object::<Probe>(&cap).map(|p| p.tag), Some(1));
    assert_eq!(sys.type_name(&cap), Some("probe"));
}

#[test]
fn error_codes_and_details_are_stable() {
    let e = Error::FailedLookup {
        source: true,
        fault: LookupFault::GuardMismatch {
            bits_left: 60,
            guard_found: 3,
            guard_size: 4,
        },
    };
    assert_eq!(e.code(), 6);
    assert_eq!(e.detail(), [1, 4, 60 | 4 << 8, 3]);
    assert_eq!(Error::DeleteFirst.code(), 8);
    assert_eq!(
        Error::NotEnoughMemory {
            needed: 5,
            available: 2
        }
        .detail(),
        [5, 2, 0, 0]
    );
}

#[test]
fn budget_shrink_returns_bytes_and_needs_revoke_first() {
    let (mut sys, p, f) = setup();
    let parent_oid = sys.cap_at(p.budget).unwrap().oid;
    let child = sys.cnode_slot(p.auth, 3).unwrap();
    let child_oid = sys.create_budget(Some(p.budget), child, 1000).unwrap().oid;
    let parent_used = sys.budget_usage(parent_oid).unwrap().1;
    new_probe_on(&mut sys, child, &p, 0, 1, &f).unwrap();
    let child_cptr = AUTH | 3;
    assert_eq!(
        sys.invoke(p.cs, child_cptr, blabel::SHRINK, &[2000], &[]),
        Err(Error::RangeError { min: 0, max: 1000 })
    );
    assert_eq!(
        sys.invoke(p.cs, child_cptr, blabel::SHRINK, &[50], &[]),
        Err(Error::RevokeFirst)
    );
    assert_eq!(
        sys.invoke(p.cs, child_cptr, blabel::SHRINK, &[], &[]),
        Err(Error::TruncatedMessage)
    );
    assert_eq!(
        sys.invoke(p.cs, child_cptr, blabel::SHRINK, &[400], &[]),
        Ok(caps::Reply::empty())
    );
    assert_eq!(sys.budget_usage(child_oid), Some((400, 100)));
    assert_eq!(sys.budget_usage(parent_oid).unwrap().1, parent_used - 600);
    // After a revoke the child can shrink to nothing.
    sys.revoke(child).unwrap();
    sys.invoke(p.cs, child_cptr, blabel::SHRINK, &[0], &[])
        .unwrap();
    assert_eq!(sys.budget_usage(parent_oid).unwrap().1, parent_used - 1000);
    assert_clean(&sys);
}

#[test]
fn helpers_for_outside_types_and_the_personality() {
    let (mut sys, p, f) = setup();
    new_probe(&mut sys, &p, 0, 1, &f);
    new_probe(&mut sys, &p, 1, 2, &f);
    new_probe(&mut sys, &p, 3, 3, &f);
    assert_eq!(sys.first_empty_slot(p.fds, 0), Some(2));
    assert_eq!(sys.first_empty_slot(p.fds, 3), Some(4));
    assert_eq!(sys.first_empty_slot(p.fds, 16), None);
    let probe_oid = sys.cap_at(fd(&sys, &p, 0)).unwrap().oid;
    assert_eq!(sys.first_empty_slot(probe_oid, 0), None);
    // Slot lookup from a CNode cap, as a decode would do with an extra cap.
    let root = sys.cap_at(Slot::root(p.cs)).unwrap();
    let fd_cnode = sys.cap_at(sys.slot_of(&root, 0).unwrap()).unwrap();
    assert_eq!(
        sys.lookup_slot_in(&fd_cnode, 5, FD_DEPTH, false),
        Ok(fd(&sys, &p, 5))
    );
    assert_eq!(
        sys.lookup_slot_in(&fd_cnode, 5, 65, false),
        Err(Error::RangeError { min: 1, max: 64 })
    );
    let probe_cap = sys.cap_at(fd(&sys, &p, 0)).unwrap();
    assert_eq!(
        sys.lookup_slot_in(&probe_cap, 5, FD_DEPTH, true),
        Err(Error::FailedLookup {
            source: true,
            fault: LookupFault::InvalidRoot
        })
    );
    // A stale cap (its object gone) is an invalid root, not a panic.
    sys.delete(fd(&sys, &p, 3)).unwrap();
    let stale = probe_cap;
    sys.delete(fd(&sys, &p, 0)).unwrap();
    assert!(sys.lookup_slot_in(&stale, 0, 60, false).is_err());
    assert_eq!(sys.object::<Probe>(&stale).map(|p| p.tag), None);
    assert_eq!(sys.type_name(&stale), None);
    assert_clean(&sys);
}

#[test]
fn slot_in_and_charged_cspaces() {
    let (mut sys, p, f) = setup();
    // "fd 5 of this process": path 0 at depth 4 names the fd CNode's root slot.
    assert_eq!(sys.slot_in(p.cs, 0, 4, 5), Ok(fd(&sys, &p, 5)));
    assert_eq!(
        sys.slot_in(p.cs, 0, 4, 16),
        Err(Error::RangeError { min: 0, max: 15 })
    );
    // Root slot 7 is empty; root slot 0 holds a CNode but fd 0 (a probe) is no CNode.
    assert_eq!(
        sys.slot_in(p.cs, 7, 4, 0),
        Err(Error::FailedLookup {
            source: false,
            fault: LookupFault::MissingCapability { bits_left: 0 }
        })
    );
    new_probe(&mut sys, &p, 0, 1, &f);
    assert_eq!(
        sys.slot_in(p.cs, 0, 64, 0),
        Err(Error::InvalidCapability { index: u8::MAX })
    );
    // A CSpace paid for by the process's Budget, and one it cannot afford.
    let before = sys
        .budget_usage(sys.cap_at(p.budget).unwrap().oid)
        .unwrap()
        .1;
    let cs = sys.create_cspace(Some(p.budget), 3, 0, 0).unwrap();
    let after = sys
        .budget_usage(sys.cap_at(p.budget).unwrap().oid)
        .unwrap()
        .1;
    assert_eq!(after - before, 64 + 32 * 8);
    assert!(matches!(
        sys.create_cspace(Some(p.budget), 20, 0, 0),
        Err(Error::NotEnoughMemory { .. })
    ));
    assert_eq!(
        sys.create_cspace(Some(p.budget), 0, 0, 0),
        Err(Error::RangeError { min: 1, max: 24 })
    );
    sys.destroy_cspace(cs).unwrap();
    let end = sys
        .budget_usage(sys.cap_at(p.budget).unwrap().oid)
        .unwrap()
        .1;
    assert_eq!(end, before);
    assert_clean(&sys);
}
