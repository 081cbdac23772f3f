//! The invariant checker for a live system: [`CapSystem::check`].
//!
//! It walks every capability, slot, object and Budget once (linear time, no
//! recursion, bounded loops even over corrupt links) and reports each broken
//! invariant as a typed [`Violation`]. Tests call it after every step; the debug
//! console's `check` command prints its result.

use alloc::vec;
use alloc::vec::Vec;

use crate::object::{Body, Oid};
use crate::system::{CapSystem, Holder, Slot, NIL};

/// One broken invariant. Capabilities are named by the slot they claim to live in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A derived capability has rights its CDT parent lacks.
    RightsExceedParent { cap: Slot, parent: Slot },
    /// A CDT child's badge differs from its badged parent's.
    BadgeChanged { cap: Slot, parent: Slot },
    /// A CDT edge joins capabilities to different objects.
    ParentOtherObject { cap: Slot, parent: Slot },
    /// Following CDT parents from this capability comes back to it.
    CdtCycle { cap: Slot },
    /// A CDT or list link points at a free capability.
    DanglingEdge { cap: Slot },
    /// Parent, child and sibling links disagree.
    CdtLinksInconsistent { cap: Slot },
    /// A capability's slot does not hold it, or a slot holds a free capability.
    SlotMismatch { slot: Slot },
    /// A capability names an object that does not exist.
    DeadObject { cap: Slot },
    /// An object's recorded capability count differs from the capabilities naming it.
    CapCountMismatch {
        oid: Oid,
        recorded: u32,
        actual: u32,
    },
    /// An object's list of capabilities is broken.
    ObjectCapListBroken { oid: Oid },
    /// A live object with no capability (it should have been finalized).
    ObjectWithoutCaps { oid: Oid },
    /// A Budget's `used` differs from the sizes of the objects charged to it.
    BudgetMismatch {
        budget: Oid,
        recorded: u64,
        actual: u64,
    },
    /// A Budget uses more than its limit.
    BudgetOverdrawn { budget: Oid, used: u64, limit: u64 },
    /// An object's charge does not appear on its Budget's list (or the reverse).
    ChargeListBroken { oid: Oid },
    /// The oid index and the object table disagree.
    OidIndexMismatch { oid: Oid },
}

impl CapSystem {
    /// Check every invariant; an empty list means the system is consistent.
    pub fn check(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        let n_caps = self.caps.len();
        let live = |c: u32| (c as usize) < n_caps && self.caps[c as usize].obj != NIL;

        // Capabilities: object alive, slot holds them, CDT edges sound.
        let mut per_obj = vec![0u32; self.objects.len()];
        let mut with_parent = 0usize;
        for (i, n) in self.caps.iter().enumerate() {
            if n.obj == NIL {
                continue;
            }
            let c = i as u32;
            match self.obj(n.obj) {
                Some(_) => per_obj[n.obj as usize] += 1,
                None => out.push(Violation::DeadObject { cap: n.loc }),
            }
            if self.slot_content(n.loc, false) != Ok(c) {
                out.push(Violation::SlotMismatch { slot: n.loc });
            }
            if n.parent != NIL {
                with_parent += 1;
                if !live(n.parent) {
                    out.push(Violation::DanglingEdge { cap: n.loc });
                    continue;
                }
                let p = &self.caps[n.parent as usize];
                if p.obj != n.obj {
                    // Only a made capability may hang under another object's, and
                    // rights and badges are not comparable across objects.
                    if !n.made {
                        out.push(Violation::ParentOtherObject {
                            cap: n.loc,
                            parent: p.loc,
                        });
                    }
                } else if !p.rights.contains(n.rights) {
                    out.push(Violation::RightsExceedParent {
                        cap: n.loc,
                        parent: p.loc,
                    });
                }
                if p.obj == n.obj && p.badge != 0 && p.badge != n.badge {
                    out.push(Violation::BadgeChanged {
                        cap: n.loc,
                        parent: p.loc,
                    });
                }
            }
            // Child list: every child points back, prev links mirror next links.
            let mut prev = NIL;
            let mut ch = n.first_child;
            let mut steps = 0;
            while ch != NIL {
                steps += 1;
                if !live(ch) || steps > n_caps {
                    out.push(Violation::DanglingEdge { cap: n.loc });
                    break;
                }
                let cn = &self.caps[ch as usize];
                if cn.parent != c || cn.prev_sib != prev {
                    out.push(Violation::CdtLinksInconsistent { cap: cn.loc });
                }
                prev = ch;
                ch = cn.next_sib;
            }
        }
        let listed: usize = self
            .caps
            .iter()
            .filter(|n| n.obj != NIL)
            .map(|n| {
                let mut k = 0;
                let mut ch = n.first_child;
                while ch != NIL && live(ch) && k <= n_caps {
                    k += 1;
                    ch = self.caps[ch as usize].next_sib;
                }
                k
            })
            .sum();
        if listed != with_parent {
            if let Some(n) = self.caps.iter().find(|n| n.obj != NIL) {
                out.push(Violation::CdtLinksInconsistent { cap: n.loc });
            }
        }
        self.check_cycles(&mut out);

        // Slots: whatever a slot holds is live and knows it lives there.
        for (cs, &r) in self.roots.iter().enumerate() {
            let slot = Slot::root(crate::system::CSpaceId(cs as u32));
            if r != NIL && (!live(r) || self.caps[r as usize].loc != slot) {
                out.push(Violation::SlotMismatch { slot });
            }
        }
        for (idx, e) in self.objects.iter().enumerate() {
            let Some(e) = e else { continue };
            if self.by_oid.get(&e.oid) != Some(&(idx as u32)) {
                out.push(Violation::OidIndexMismatch { oid: e.oid });
            }
            if let Body::CNode(cn) = &e.body {
                for (k, &c) in cn.slots.iter().enumerate() {
                    let slot = Slot {
                        holder: Holder::CNode {
                            idx: idx as u32,
                            oid: e.oid,
                        },
                        index: k as u32,
                    };
                    if c != NIL && (!live(c) || self.caps[c as usize].loc != slot) {
                        out.push(Violation::SlotMismatch { slot });
                    }
                }
            }
            // Counts and the per-object capability list.
            let actual = per_obj[idx];
            if e.cap_count != actual {
                out.push(Violation::CapCountMismatch {
                    oid: e.oid,
                    recorded: e.cap_count,
                    actual,
                });
            }
            if actual == 0 {
                out.push(Violation::ObjectWithoutCaps { oid: e.oid });
            }
            let (mut k, mut c, mut prev) = (0u32, e.caps_head, NIL);
            while c != NIL {
                if !live(c)
                    || self.caps[c as usize].obj != idx as u32
                    || self.caps[c as usize].obj_prev != prev
                    || k > actual
                {
                    out.push(Violation::ObjectCapListBroken { oid: e.oid });
                    break;
                }
                k += 1;
                prev = c;
                c = self.caps[c as usize].obj_next;
            }
            if c == NIL && k != actual {
                out.push(Violation::ObjectCapListBroken { oid: e.oid });
            }
        }
        for (&oid, &idx) in &self.by_oid {
            if self.obj(idx).map(|e| e.oid) != Some(oid) {
                out.push(Violation::OidIndexMismatch { oid });
            }
        }
        self.check_budgets(&mut out);
        out
    }

    /// Walk up from every capability, colouring paths, so each is visited O(1) times.
    fn check_cycles(&self, out: &mut Vec<Violation>) {
        const UNSEEN: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut colour = vec![UNSEEN; self.caps.len()];
        let mut path = Vec::new();
        for start in 0..self.caps.len() {
            if self.caps[start].obj == NIL || colour[start] != UNSEEN {
                continue;
            }
            let mut c = start as u32;
            loop {
                if c == NIL || (c as usize) >= self.caps.len() {
                    break;
                }
                match colour[c as usize] {
                    DONE => break,
                    ON_PATH => {
                        out.push(Violation::CdtCycle {
                            cap: self.caps[c as usize].loc,
                        });
                        break;
                    }
                    _ => {}
                }
                colour[c as usize] = ON_PATH;
                path.push(c);
                c = self.caps[c as usize].parent;
            }
            for p in path.drain(..) {
                colour[p as usize] = DONE;
            }
        }
    }

    fn check_budgets(&self, out: &mut Vec<Violation>) {
        let mut charged_total = 0usize;
        let mut listed_total = 0usize;
        for (idx, e) in self.objects.iter().enumerate() {
            let Some(e) = e else { continue };
            if e.charged_to != NIL {
                charged_total += 1;
                if !matches!(
                    self.obj(e.charged_to).map(|b| &b.body),
                    Some(Body::Budget(_))
                ) {
                    out.push(Violation::ChargeListBroken { oid: e.oid });
                }
            }
            let Body::Budget(b) = &e.body else { continue };
            let (mut sum, mut o, mut prev, mut k) = (0u64, b.charged_head, NIL, 0usize);
            while o != NIL {
                match self.obj(o) {
                    Some(x)
                        if x.charged_to == idx as u32
                            && x.charge_prev == prev
                            && k <= self.objects.len() =>
                    {
                        sum += x.size;
                        k += 1;
                        prev = o;
                        o = x.charge_next;
                    }
                    _ => {
                        out.push(Violation::ChargeListBroken { oid: e.oid });
                        break;
                    }
                }
            }
            listed_total += k;
            if sum != b.used {
                out.push(Violation::BudgetMismatch {
                    budget: e.oid,
                    recorded: b.used,
                    actual: sum,
                });
            }
            if b.used > b.limit {
                out.push(Violation::BudgetOverdrawn {
                    budget: e.oid,
                    used: b.used,
                    limit: b.limit,
                });
            }
        }
        if charged_total != listed_total {
            out.push(Violation::ChargeListBroken { oid: 0 });
        }
    }
}

#[cfg(test)]
mod tests {
    //! check() must notice each kind of damage: corrupt a clean system by hand, one
    //! field at a time, and look for the matching violation.
    use super::*;
    use crate::object::ObjectEntry;
    use crate::rights::Rights;

    /// A CSpace with a Budget in slot 0, a copy in slot 1, a grand-copy in slot 2 and
    /// a CNode charged to the Budget in slot 3.
    fn clean() -> (CapSystem, [u32; 4]) {
        let mut sys = CapSystem::new();
        let cs = sys.create_cspace(None, 3, 0, 0).unwrap();
        let root = sys.cap_at(Slot::root(cs)).unwrap();
        let s: [Slot; 4] = core::array::from_fn(|i| sys.slot_of(&root, i as u32).unwrap());
        sys.create_budget(None, s[0], 10_000).unwrap();
        sys.copy(s[0], s[1], Rights::READ | Rights::WRITE).unwrap();
        sys.mint(s[1], s[2], Rights::READ, 5).unwrap();
        sys.create_cnode(s[0], s[3], 2, 0, 0).unwrap();
        assert_eq!(sys.check(), Vec::new());
        let ids = s.map(|x| sys.slot_content(x, false).unwrap());
        (sys, ids)
    }

    fn has(sys: &CapSystem, pred: impl Fn(&Violation) -> bool) -> bool {
        sys.check().iter().any(pred)
    }

    #[test]
    fn rights_beyond_parent() {
        let (mut sys, c) = clean();
        sys.caps[c[2] as usize].rights = Rights::ALL;
        assert!(has(&sys, |v| matches!(
            v,
            Violation::RightsExceedParent { .. }
        )));
    }

    #[test]
    fn badge_changed() {
        let (mut sys, c) = clean();
        sys.caps[c[1] as usize].badge = 3; // parent of the badge-5 cap
        assert!(has(&sys, |v| matches!(v, Violation::BadgeChanged { .. })));
    }

    #[test]
    fn cdt_cycle_and_inconsistent_links() {
        let (mut sys, c) = clean();
        sys.caps[c[0] as usize].parent = c[2];
        let v = sys.check();
        assert!(
            v.iter().any(|v| matches!(v, Violation::CdtCycle { .. })),
            "{v:?}"
        );
        assert!(v
            .iter()
            .any(|v| matches!(v, Violation::CdtLinksInconsistent { .. })));
    }

    #[test]
    fn dangling_edge() {
        let (mut sys, c) = clean();
        sys.caps[c[2] as usize].parent = 9999;
        assert!(has(&sys, |v| matches!(v, Violation::DanglingEdge { .. })));
    }

    #[test]
    fn edge_between_objects() {
        let (mut sys, c) = clean();
        sys.caps[c[2] as usize].obj = sys.caps[c[3] as usize].obj;
        assert!(has(&sys, |v| matches!(
            v,
            Violation::ParentOtherObject { .. }
        )));
    }

    #[test]
    fn cap_count_and_object_list() {
        let (mut sys, c) = clean();
        let o = sys.caps[c[0] as usize].obj;
        sys.obj_mut(o).unwrap().cap_count = 7;
        assert!(has(&sys, |v| matches!(
            v,
            Violation::CapCountMismatch {
                recorded: 7,
                actual: 3,
                ..
            }
        )));
        let (mut sys, c) = clean();
        let o = sys.caps[c[0] as usize].obj;
        sys.obj_mut(o).unwrap().caps_head = NIL;
        assert!(has(&sys, |v| matches!(
            v,
            Violation::ObjectCapListBroken { .. }
        )));
    }

    #[test]
    fn slot_mismatch_and_dead_object() {
        let (mut sys, c) = clean();
        let root_obj = sys.caps[sys.roots[0] as usize].obj;
        if let Some(ObjectEntry {
            body: Body::CNode(cn),
            ..
        }) = sys.obj_mut(root_obj)
        {
            cn.slots[5] = c[1];
        }
        assert!(has(&sys, |v| matches!(v, Violation::SlotMismatch { .. })));
        let (mut sys, c) = clean();
        sys.caps[c[3] as usize].obj = 999;
        assert!(has(&sys, |v| matches!(v, Violation::DeadObject { .. })));
    }

    #[test]
    fn object_without_caps() {
        let (mut sys, _) = clean();
        // An object nobody holds: what a missed finalization would leave behind.
        sys.objects.push(Some(ObjectEntry {
            oid: 777,
            body: Body::Budget(crate::object::BudgetStore {
                limit: 5,
                used: 0,
                charged_head: NIL,
            }),
            size: 5,
            cap_count: 0,
            caps_head: NIL,
            charged_to: NIL,
            charge_prev: NIL,
            charge_next: NIL,
        }));
        sys.by_oid.insert(777, (sys.objects.len() - 1) as u32);
        assert_eq!(sys.check(), [Violation::ObjectWithoutCaps { oid: 777 }]);
    }

    #[test]
    fn budgets_must_add_up() {
        let (mut sys, c) = clean();
        let b = sys.caps[c[0] as usize].obj;
        if let Some(Body::Budget(bs)) = sys.obj_mut(b).map(|e| &mut e.body) {
            bs.used += 1;
        }
        assert!(has(&sys, |v| matches!(v, Violation::BudgetMismatch { .. })));
        if let Some(Body::Budget(bs)) = sys.obj_mut(b).map(|e| &mut e.body) {
            bs.limit = 1;
        }
        assert!(has(&sys, |v| matches!(
            v,
            Violation::BudgetOverdrawn { .. }
        )));
        let (mut sys, c) = clean();
        let cn = sys.caps[c[3] as usize].obj;
        sys.obj_mut(cn).unwrap().charged_to = NIL;
        assert!(has(&sys, |v| matches!(
            v,
            Violation::ChargeListBroken { .. }
        )));
    }

    #[test]
    fn oid_index() {
        let (mut sys, _) = clean();
        sys.by_oid.insert(12345, 0);
        assert!(has(&sys, |v| *v == Violation::OidIndexMismatch { oid: 12345 }));
    }
}
