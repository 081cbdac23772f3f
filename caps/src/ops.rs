//! Capability operations and the derivation tree (CDT).
//!
//! - Copy/Mint make a new capability that is a CDT child of its source, with a subset
//!   of its rights (asking for more is InsufficientRights) and, for Mint, a badge: an
//!   unbadged source may be given any badge, a badged one keeps its badge forever.
//! - Move carries a capability to another slot with its place in the CDT (children
//!   stay attached). Rotate is two moves done at once.
//! - Delete removes one capability; its children move up to its parent (the CDT stays
//!   a forest of same-object capabilities, as seL4's depth-ordered MDB list implies,
//!   except for *made* edges: an object created by invoking a capability to another
//!   object — an endpoint made through a NetStack cap, seL4's retype from an Untyped —
//!   has its first capability under the invoked one, so revoking the authority
//!   reaches what was made with it. A child moved up in place of a made capability
//!   inherits that edge.)
//! - Revoke deletes every descendant of a capability, in every CSpace, and keeps the
//!   capability itself; revoking a Budget also destroys every object charged to it.
//!
//! When an object loses its last capability it is queued and finalized: the type's
//! hook runs exactly once (after `revoked` when a Revoke took the capability: the
//! authority was taken away, not given up, so work in progress is cancelled), its Budget is refunded, a CNode's slots are deleted, a
//! Budget's charged objects are destroyed. The queue makes every cascade iterative:
//! no operation recurses on the Rust stack, and each costs time linear in what it
//! removes (plus, for Delete, the number of children that move up).

use crate::error::{Error, LookupFault, Result};
use crate::object::Body;
use crate::rights::Rights;
use crate::system::{check_cnode_shape, cnode_size, CapNode, CapSystem, Slot, NIL};

/// Argument positions of CNode Mint, used for error reports from the shared checks.
pub(crate) const ARG_RIGHTS: u8 = 4;
pub(crate) const ARG_BADGE: u8 = 5;

/// A checked derivation: what decode hands to perform.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Derive {
    pub src: u32,
    pub dst: Slot,
    pub rights: Rights,
    pub badge: u64,
}

impl CapSystem {
    pub(crate) fn source_cap(&self, src: Slot) -> Result<u32> {
        match self.slot_content(src, true)? {
            NIL => Err(Error::lookup(
                true,
                LookupFault::MissingCapability { bits_left: 0 },
            )),
            c => Ok(c),
        }
    }

    /// The checks Copy and Mint share (decode half).
    pub(crate) fn check_derive(
        &self,
        src: Slot,
        dst: Slot,
        rights: Rights,
        badge: Option<u64>,
    ) -> Result<Derive> {
        self.check_empty(dst)?;
        let c = self.source_cap(src)?;
        let n = self.node(c);
        let missing = rights - n.rights;
        if !missing.is_empty() {
            return Err(Error::InsufficientRights {
                missing: missing.bits(),
            });
        }
        let badge = match badge {
            None => n.badge,
            Some(b) if n.badge == 0 || b == n.badge => b,
            Some(_) => return Err(Error::InvalidArgument { index: ARG_BADGE }),
        };
        Ok(Derive {
            src: c,
            dst,
            rights,
            badge,
        })
    }

    /// Perform half of Copy/Mint.
    pub(crate) fn do_derive(&mut self, d: Derive) -> crate::system::Cap {
        let obj = self.node(d.src).obj;
        let c = self.alloc_cap(CapNode {
            obj,
            rights: d.rights,
            badge: d.badge,
            loc: d.dst,
            ..CapNode::FREE
        });
        self.link_child(d.src, c);
        self.link_obj_cap(obj, c);
        self.set_slot(d.dst, c);
        self.cap_of(c)
    }

    /// Make the parentless capability `c` the first CDT child of `parent`.
    pub(crate) fn link_child(&mut self, parent: u32, c: u32) {
        let first = self.node(parent).first_child;
        let n = &mut self.caps[c as usize];
        n.parent = parent;
        n.next_sib = first;
        n.prev_sib = NIL;
        if first != NIL {
            self.caps[first as usize].prev_sib = c;
        }
        self.caps[parent as usize].first_child = c;
    }

    /// Copy the capability in `src` to the empty slot `dst` with `rights` (a subset of
    /// the source's). The copy is a CDT child of the source.
    pub fn copy(&mut self, src: Slot, dst: Slot, rights: Rights) -> Result<crate::system::Cap> {
        let d = self.check_derive(src, dst, rights, None)?;
        Ok(self.do_derive(d))
    }

    /// Copy with a badge: allowed when the source is unbadged or already has `badge`.
    pub fn mint(
        &mut self,
        src: Slot,
        dst: Slot,
        rights: Rights,
        badge: u64,
    ) -> Result<crate::system::Cap> {
        let d = self.check_derive(src, dst, rights, Some(badge))?;
        Ok(self.do_derive(d))
    }

    pub(crate) fn check_move(&self, src: Slot, dst: Slot) -> Result<u32> {
        self.check_empty(dst)?;
        self.source_cap(src)
    }

    pub(crate) fn do_move(&mut self, c: u32, src: Slot, dst: Slot) {
        self.set_slot(src, NIL);
        self.set_slot(dst, c);
        self.caps[c as usize].loc = dst;
    }

    /// Move the capability in `src` to the empty slot `dst`, keeping its CDT place.
    pub fn move_cap(&mut self, src: Slot, dst: Slot) -> Result<()> {
        let c = self.check_move(src, dst)?;
        self.do_move(c, src, dst);
        Ok(())
    }

    /// The checks of Rotate: `src` -> `pivot` -> `dst` where `dst` is empty or is
    /// `src` itself (a swap). Returns (src cap, pivot cap).
    pub(crate) fn check_rotate(&self, src: Slot, pivot: Slot, dst: Slot) -> Result<(u32, u32)> {
        if pivot == src || pivot == dst {
            return Err(Error::IllegalOperation);
        }
        let s = self.source_cap(src)?;
        let p = match self.slot_content(pivot, true)? {
            NIL => {
                return Err(Error::lookup(
                    true,
                    LookupFault::MissingCapability { bits_left: 0 },
                ))
            }
            p => p,
        };
        if dst != src {
            self.check_empty(dst)?;
        }
        Ok((s, p))
    }

    pub(crate) fn do_rotate(&mut self, s: u32, p: u32, src: Slot, pivot: Slot, dst: Slot) {
        self.set_slot(src, NIL);
        self.set_slot(dst, p);
        self.caps[p as usize].loc = dst;
        self.set_slot(pivot, s);
        self.caps[s as usize].loc = pivot;
    }

    /// Move `pivot`'s capability to `dst` and `src`'s to `pivot`, atomically.
    pub fn rotate(&mut self, src: Slot, pivot: Slot, dst: Slot) -> Result<()> {
        let (s, p) = self.check_rotate(src, pivot, dst)?;
        self.do_rotate(s, p, src, pivot, dst);
        Ok(())
    }

    /// Delete the capability in `slot` (FailedLookup when it is empty). If it was the
    /// last capability to its object, the object is finalized.
    pub fn delete(&mut self, slot: Slot) -> Result<()> {
        let c = self.source_cap(slot)?;
        self.delete_cap(c);
        self.drain_pending();
        Ok(())
    }

    /// Delete every CDT descendant of the capability in `slot`, wherever it lives; for
    /// a Budget, also destroy every object charged to it. The capability stays.
    pub fn revoke(&mut self, slot: Slot) -> Result<()> {
        let c = self.source_cap(slot)?;
        self.revoke_cap(c);
        Ok(())
    }

    pub(crate) fn revoke_cap(&mut self, top: u32) {
        // Objects this revoke finalizes are told why (`ObjectType::revoked`).
        let outer = core::mem::replace(&mut self.revoking, true);
        self.revoke_descendants(top);
        self.revoking = outer;
    }

    fn revoke_descendants(&mut self, top: u32) {
        // Post-order walk by links alone: descend to a leaf, delete it, continue from
        // its parent. Each node is entered once and returned to once per child.
        let mut cur = top;
        loop {
            let fc = self.node(cur).first_child;
            if fc != NIL {
                cur = fc;
                continue;
            }
            if cur == top {
                break;
            }
            let parent = self.node(cur).parent;
            self.delete_cap(cur);
            cur = parent;
        }
        let obj = self.node(top).obj;
        if matches!(self.obj(obj).map(|e| &e.body), Some(Body::Budget(_))) {
            self.destroy_charged(obj);
        }
        self.drain_pending();
    }

    /// Destroy every object charged to Budget `budget`: delete all their capabilities.
    fn destroy_charged(&mut self, budget: u32) {
        loop {
            let head = match self.obj(budget).map(|e| &e.body) {
                Some(Body::Budget(b)) => b.charged_head,
                _ => NIL,
            };
            if head == NIL {
                break;
            }
            // Unlink first (refunding the charge) so the loop always advances.
            self.unlink_charge(head);
            loop {
                let c = self.obj(head).map_or(NIL, |e| e.caps_head);
                if c == NIL {
                    break;
                }
                self.delete_cap(c);
            }
        }
    }

    /// Remove one capability: children move up to its parent, the slot empties, and an
    /// object left without capabilities is queued for finalization.
    pub(crate) fn delete_cap(&mut self, c: u32) {
        let n = *self.node(c);
        if n.obj == NIL {
            return;
        }
        // Splice the children into the parent's child list in place of `c`.
        // A child of a made capability takes over its edge to the other object.
        let mut last_child = NIL;
        let mut ch = n.first_child;
        while ch != NIL {
            self.caps[ch as usize].parent = n.parent;
            self.caps[ch as usize].made |= n.made;
            last_child = ch;
            ch = self.node(ch).next_sib;
        }
        let (first, last) = if n.first_child != NIL {
            (n.first_child, last_child)
        } else {
            (n.next_sib, NIL)
        };
        if n.first_child != NIL {
            self.caps[first as usize].prev_sib = n.prev_sib;
            self.caps[last as usize].next_sib = n.next_sib;
            if n.next_sib != NIL {
                self.caps[n.next_sib as usize].prev_sib = last;
            }
        } else if n.next_sib != NIL {
            self.caps[n.next_sib as usize].prev_sib = n.prev_sib;
        }
        if n.prev_sib != NIL {
            self.caps[n.prev_sib as usize].next_sib = first;
        } else if n.parent != NIL {
            self.caps[n.parent as usize].first_child = first;
        }
        // Off the object's capability list.
        if n.obj_prev != NIL {
            self.caps[n.obj_prev as usize].obj_next = n.obj_next;
        }
        if n.obj_next != NIL {
            self.caps[n.obj_next as usize].obj_prev = n.obj_prev;
        }
        if let Some(e) = self.obj_mut(n.obj) {
            if e.caps_head == c {
                e.caps_head = n.obj_next;
            }
            e.cap_count -= 1;
            if e.cap_count == 0 {
                self.pending.push(n.obj);
            }
        }
        self.set_slot(n.loc, NIL);
        self.caps[c as usize] = CapNode::FREE;
        self.free_caps.push(c);
    }

    /// Finalize every queued object, and whatever their finalization releases.
    pub(crate) fn drain_pending(&mut self) {
        while let Some(o) = self.pending.pop() {
            match self.obj(o) {
                Some(e) if e.cap_count == 0 => {}
                _ => continue,
            }
            self.unlink_charge(o);
            if matches!(self.obj(o).map(|e| &e.body), Some(Body::Budget(_))) {
                self.destroy_charged(o);
            }
            let Some(entry) = self.objects.get_mut(o as usize).and_then(Option::take) else {
                continue;
            };
            self.by_oid.remove(&entry.oid);
            self.free_objects.push(o);
            match entry.body {
                Body::CNode(cn) => {
                    // The entry is gone, so deleting these does not write back into it.
                    for c in cn.slots.into_iter().filter(|&c| c != NIL) {
                        self.delete_cap(c);
                    }
                }
                Body::Budget(_) => {}
                Body::Ext(obj) => {
                    if self.revoking {
                        obj.revoked();
                    }
                    obj.finalize()
                }
            }
        }
    }

    /// Change a CNode's radix (and guard, so CPtrs through it can stay the same).
    /// Growing charges the CNode's Budget the difference; shrinking needs the dropped
    /// slots empty (DeleteFirst otherwise) and refunds.
    pub fn resize_cnode(
        &mut self,
        cnode: &crate::system::Cap,
        radix: u8,
        guard_size: u8,
        guard: u64,
    ) -> Result<()> {
        let idx = self.check_resize(cnode, radix, guard_size, guard)?;
        self.do_resize(idx, radix, guard_size, guard);
        Ok(())
    }

    pub(crate) fn check_resize(
        &self,
        cnode: &crate::system::Cap,
        radix: u8,
        guard_size: u8,
        guard: u64,
    ) -> Result<u32> {
        check_cnode_shape(radix, guard_size, guard, 0)?;
        let e = self
            .obj(cnode.obj)
            .filter(|e| e.oid == cnode.oid)
            .ok_or(Error::InvalidCapability { index: u8::MAX })?;
        let Body::CNode(cn) = &e.body else {
            return Err(Error::InvalidCapability { index: u8::MAX });
        };
        let new_len = 1usize << radix;
        if cn.slots.iter().skip(new_len).any(|&c| c != NIL) {
            return Err(Error::DeleteFirst);
        }
        let new_size = cnode_size(radix);
        if new_size > e.size {
            if let Some(Body::Budget(b)) = self.obj(e.charged_to).map(|b| &b.body) {
                let available = b.limit - b.used.min(b.limit);
                if new_size - e.size > available {
                    return Err(Error::NotEnoughMemory {
                        needed: new_size - e.size,
                        available,
                    });
                }
            }
        }
        Ok(cnode.obj)
    }

    pub(crate) fn do_resize(&mut self, idx: u32, radix: u8, guard_size: u8, guard: u64) {
        let new_size = cnode_size(radix);
        let Some(e) = self.obj_mut(idx) else { return };
        let (old_size, budget) = (e.size, e.charged_to);
        e.size = new_size;
        if let Body::CNode(cn) = &mut e.body {
            cn.slots.resize(1usize << radix, NIL);
            cn.slots.shrink_to_fit();
            cn.radix = radix;
            cn.guard_size = guard_size;
            cn.guard = guard;
        }
        if let Some(Body::Budget(b)) = self.obj_mut(budget).map(|b| &mut b.body) {
            b.used = b.used - old_size.min(b.used) + new_size;
        }
    }
}
