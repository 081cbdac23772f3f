//! Made edges: an object created by invoking a capability to another object (a
//! factory, as a NetStack makes endpoints) hangs its first capability under the
//! invoked one. Revoking the factory capability deletes what was made with it and
//! tells the object it was revoked; deleting (closing) does not; copies of a made
//! capability inherit the edge when it goes; `check` accepts all of it.

mod common;

use std::sync::{Arc, Mutex};

use caps::{CapSystem, Error, Invocation, ObjectType, Reply, Rights, Slot};
use common::*;

/// What happened to made items, by tag: (revoked, finalized).
type Log = Arc<Mutex<Vec<(u64, &'static str)>>>;

struct Item {
    tag: u64,
    log: Log,
}

impl ObjectType for Item {
    const NAME: &'static str = "item";
    type Op = ();
    fn size(&self) -> u64 {
        10
    }
    fn decode(&self, _: &CapSystem, _: &Invocation<'_>) -> Result<(), Error> {
        Err(Error::IllegalOperation)
    }
    fn perform(&self, _: &mut CapSystem, _: &Invocation<'_>, _: ()) -> Reply {
        Reply::empty()
    }
    fn revoked(&self) {
        self.log.lock().unwrap().push((self.tag, "revoked"));
    }
    fn finalize(&self) {
        self.log.lock().unwrap().push((self.tag, "finalized"));
    }
}

/// MAKE(dest_index, dest_depth, tag) with extra caps (budget, dest CNode): needs the
/// per-type right MAKE_RIGHT.
struct Factory {
    log: Log,
}

const MAKE: u64 = 1;
const MAKE_RIGHT: Rights = Rights::type_right(0);

impl ObjectType for Factory {
    const NAME: &'static str = "factory";
    type Op = (caps::CreateTicket, u64);
    fn size(&self) -> u64 {
        10
    }
    fn decode(&self, sys: &CapSystem, inv: &Invocation<'_>) -> Result<Self::Op, Error> {
        if inv.label != MAKE {
            return Err(Error::IllegalOperation);
        }
        inv.require(MAKE_RIGHT)?;
        let dst = sys.lookup_slot_in(&inv.extra(1)?.cap, inv.word(0)?, inv.word(1)?, false)?;
        let t = sys.prepare_create_by(inv.target.slot, inv.extra(0)?.slot, dst, 10)?;
        Ok((t, inv.word(2)?))
    }
    fn perform(&self, sys: &mut CapSystem, _: &Invocation<'_>, (t, tag): Self::Op) -> Reply {
        let item = Arc::new(Item {
            tag,
            log: self.log.clone(),
        });
        let cap = sys.commit_create(t, item, Rights::GENERIC).unwrap();
        Reply::with_words(&[cap.oid])
    }
}

struct World {
    sys: CapSystem,
    p: Process,
    log: Log,
}

/// A process with a factory cap at authority slot 1 and a copy of its fd CNode cap
/// at authority slot 2 (the destination root for MAKE).
fn world() -> World {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 4, 1 << 20);
    let log: Log = Default::default();
    let f = sys.cnode_slot(p.auth, 1).unwrap();
    let factory = Factory { log: log.clone() };
    sys.create_object(p.budget, f, factory, Rights::ALL)
        .unwrap();
    let root = sys.cap_at(Slot::root(p.cs)).unwrap();
    let fd_cnode = sys.slot_of(&root, 0).unwrap();
    let d = sys.cnode_slot(p.auth, 2).unwrap();
    sys.copy(fd_cnode, d, Rights::ALL).unwrap();
    World { sys, p, log }
}

impl World {
    fn make(&mut self, via: u64, fd: u64, tag: u64) -> Result<Reply, Error> {
        let extra = [authority_cptr(0), authority_cptr(2)];
        self.sys
            .invoke(self.p.cs, via, MAKE, &[fd, 60, tag], &extra)
    }
    fn fd(&self, n: u32) -> Slot {
        self.sys.cnode_slot(self.p.fds, n).unwrap()
    }
    fn auth(&self, n: u32) -> Slot {
        self.sys.cnode_slot(self.p.auth, n).unwrap()
    }
    fn log(&self) -> Vec<(u64, &'static str)> {
        self.log.lock().unwrap().clone()
    }
}

#[test]
fn made_capability_hangs_under_the_invoked_one() {
    let mut w = world();
    w.make(authority_cptr(1), 3, 7).unwrap();
    let made = w.sys.cap_at(w.fd(3)).unwrap();
    assert_eq!(w.sys.type_name(&made), Some("item"));
    assert_eq!(w.sys.cdt_parent(w.fd(3)), Some(w.auth(1)));
    assert_eq!(w.sys.cdt_children(w.auth(1)), vec![w.fd(3)]);
    assert!(w.sys.is_made(w.fd(3)));
    assert_clean(&w.sys);
}

#[test]
fn making_needs_the_right_and_leaves_nothing_on_failure() {
    let mut w = world();
    // A copy without MAKE_RIGHT: decode refuses, no object, no slot filled.
    w.sys.copy(w.auth(1), w.auth(3), Rights::GENERIC).unwrap();
    let before = w.sys.object_count();
    let e = w.make(authority_cptr(3), 3, 1).unwrap_err();
    assert_eq!(
        e,
        Error::InsufficientRights {
            missing: MAKE_RIGHT.bits()
        }
    );
    assert_eq!(w.sys.object_count(), before);
    assert!(w.sys.cap_at(w.fd(3)).is_none());
    assert_clean(&w.sys);
}

#[test]
fn revoking_the_maker_revokes_what_it_made() {
    let mut w = world();
    // A child copy of the factory cap (what fork gives a child) makes item 2; the
    // original makes item 1. Item 2 is also dup'ed (a copy under the made cap).
    w.sys.copy(w.auth(1), w.auth(3), Rights::ALL).unwrap();
    w.make(authority_cptr(1), 3, 1).unwrap();
    w.make(authority_cptr(3), 4, 2).unwrap();
    w.sys.copy(w.fd(4), w.fd(5), Rights::GENERIC).unwrap();
    assert_clean(&w.sys);

    // Revoking the copy takes item 2 (both its caps) but not item 1.
    w.sys.revoke(w.auth(3)).unwrap();
    assert!(w.sys.cap_at(w.fd(4)).is_none() && w.sys.cap_at(w.fd(5)).is_none());
    assert!(w.sys.cap_at(w.fd(3)).is_some());
    assert_eq!(w.log(), vec![(2, "revoked"), (2, "finalized")]);
    assert_clean(&w.sys);

    // Revoking the original takes the copy of the factory cap and item 1.
    w.sys.revoke(w.auth(1)).unwrap();
    assert!(w.sys.cap_at(w.auth(3)).is_none() && w.sys.cap_at(w.fd(3)).is_none());
    assert_eq!(&w.log()[2..], &[(1, "revoked"), (1, "finalized")]);
    assert!(w.sys.cap_at(w.auth(1)).is_some());
    assert_clean(&w.sys);
}

#[test]
fn deleting_is_not_revoking_and_copies_inherit_the_edge() {
    let mut w = world();
    w.make(authority_cptr(1), 3, 1).unwrap();
    w.sys.copy(w.fd(3), w.fd(4), Rights::GENERIC).unwrap();
    // Close the made cap: its copy moves up under the factory cap and is now the made
    // one (check would report ParentOtherObject otherwise).
    w.sys.delete(w.fd(3)).unwrap();
    assert_eq!(w.sys.cdt_parent(w.fd(4)), Some(w.auth(1)));
    assert!(w.sys.is_made(w.fd(4)));
    assert_clean(&w.sys);
    // The last close finalizes without `revoked`.
    w.sys.delete(w.fd(4)).unwrap();
    assert_eq!(w.log(), vec![(1, "finalized")]);
    assert_clean(&w.sys);

    // Deleting the factory cap itself moves made caps up to its parent (or makes them
    // roots); the items live on.
    w.make(authority_cptr(1), 5, 2).unwrap();
    w.sys.delete(w.auth(1)).unwrap();
    assert!(w.sys.cap_at(w.fd(5)).is_some());
    assert_eq!(w.sys.cdt_parent(w.fd(5)), None);
    assert_clean(&w.sys);
}
