//! The capability system: one struct owning every capability and object.
//!
//! Capabilities live in an arena (`caps`) of `CapNode`s. Each node carries its
//! derivation-tree links (parent, first child, siblings) and its links in the list of
//! capabilities to the same object, so revoke, delete and finalization are iterative
//! walks over indices, never recursion. A CNode's slots hold arena indices, so Move
//! and Rotate only rewrite two slots and the moved node's location.
//!
//! Objects live in a second arena (`objects`), reached from capabilities by index and
//! from outside by their never-reused [`Oid`] through a `BTreeMap`.
//!
//! The kernel owns one `CapSystem` behind one lock; nothing here locks.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{Error, LookupFault, Result};
use crate::object::{Body, BudgetStore, CNodeStore, DynObject, ObjectEntry, ObjectType, Oid};
use crate::rights::Rights;

pub(crate) const NIL: u32 = u32::MAX;

/// Bytes charged for a CNode: a header plus this much per slot.
pub const CNODE_HEADER_BYTES: u64 = 64;
pub const CNODE_SLOT_BYTES: u64 = 32;
/// Largest CNode radix (2^24 slots; RLIMIT_NOFILE's hard maximum is 2^20).
pub const MAX_RADIX: u8 = 24;

/// A process's capability space, named by the kernel-held slot of its root CNode cap
/// (seL4 keeps that cap in the TCB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CSpaceId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Holder {
    /// The root-CNode slot of a CSpace.
    Root(u32),
    /// A CNode, by object index, checked against its oid on every use.
    CNode { idx: u32, oid: Oid },
}

/// A place a capability can live: slot `index` of a CNode, or a CSpace's root slot.
/// A cheap handle: it stays meaningful while the CNode lives and is rejected after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    pub(crate) holder: Holder,
    pub(crate) index: u32,
}

impl Slot {
    /// The root slot of a CSpace.
    pub fn root(cs: CSpaceId) -> Slot {
        Slot {
            holder: Holder::Root(cs.0),
            index: 0,
        }
    }
    /// The CNode holding this slot (`None` for a CSpace root slot).
    pub fn cnode(&self) -> Option<Oid> {
        match self.holder {
            Holder::CNode { oid, .. } => Some(oid),
            Holder::Root(_) => None,
        }
    }
    /// Slot index within its CNode.
    pub fn index(&self) -> u32 {
        self.index
    }
}

/// A capability as seen from outside: object, rights, badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cap {
    pub oid: Oid,
    pub rights: Rights,
    pub badge: u64,
    pub(crate) obj: u32,
}

/// One capability in the arena (free when `obj == NIL`).
#[derive(Clone, Copy)]
pub(crate) struct CapNode {
    pub obj: u32,
    pub rights: Rights,
    pub badge: u64,
    pub loc: Slot,
    pub parent: u32,
    pub first_child: u32,
    pub next_sib: u32,
    pub prev_sib: u32,
    pub obj_prev: u32,
    pub obj_next: u32,
    /// This capability was made, with its object, by invoking its CDT parent (a
    /// capability to another object: an endpoint made through a NetStack cap, as seL4
    /// retypes objects out of an Untyped). The one kind of edge between two objects.
    pub made: bool,
}

impl CapNode {
    pub(crate) const FREE: CapNode = CapNode {
        obj: NIL,
        rights: Rights::empty(),
        badge: 0,
        loc: Slot {
            holder: Holder::Root(NIL),
            index: 0,
        },
        parent: NIL,
        first_child: NIL,
        next_sib: NIL,
        prev_sib: NIL,
        obj_prev: NIL,
        obj_next: NIL,
        made: false,
    };
}

// The kernel keeps the system behind a lock shared by CPUs, so it must be Send.
const _: () = {
    const fn send<T: Send>() {}
    send::<CapSystem>();
};

/// Writ's capability state: every capability, object and CSpace root.
pub struct CapSystem {
    pub(crate) caps: Vec<CapNode>,
    pub(crate) free_caps: Vec<u32>,
    pub(crate) objects: Vec<Option<ObjectEntry>>,
    pub(crate) free_objects: Vec<u32>,
    pub(crate) by_oid: BTreeMap<Oid, u32>,
    pub(crate) next_oid: Oid,
    /// Root capability index per CSpace (`NIL` when it has none).
    pub(crate) roots: Vec<u32>,
    /// Objects whose last capability went away, waiting to be finalized.
    pub(crate) pending: Vec<u32>,
    /// Set while a Revoke runs: objects it finalizes hear `revoked` first.
    pub(crate) revoking: bool,
}

impl Default for CapSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl CapSystem {
    pub fn new() -> CapSystem {
        CapSystem {
            caps: Vec::new(),
            free_caps: Vec::new(),
            objects: Vec::new(),
            free_objects: Vec::new(),
            by_oid: BTreeMap::new(),
            next_oid: 1,
            roots: Vec::new(),
            pending: Vec::new(),
            revoking: false,
        }
    }

    // ---- read access -------------------------------------------------------------

    pub(crate) fn obj(&self, idx: u32) -> Option<&ObjectEntry> {
        self.objects.get(idx as usize).and_then(Option::as_ref)
    }

    pub(crate) fn obj_mut(&mut self, idx: u32) -> Option<&mut ObjectEntry> {
        self.objects.get_mut(idx as usize).and_then(Option::as_mut)
    }

    pub(crate) fn node(&self, c: u32) -> &CapNode {
        // Indices handed around internally always come from live links; a free or
        // out-of-range index reads as the FREE node rather than panicking.
        self.caps.get(c as usize).unwrap_or(&CapNode::FREE)
    }

    pub(crate) fn cnode_store(&self, idx: u32) -> Option<&CNodeStore> {
        match self.obj(idx).map(|o| &o.body) {
            Some(Body::CNode(c)) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn cap_of(&self, c: u32) -> Cap {
        let n = self.node(c);
        Cap {
            oid: self.obj(n.obj).map_or(0, |o| o.oid),
            rights: n.rights,
            badge: n.badge,
            obj: n.obj,
        }
    }

    /// Capability index held in `slot`, `NIL` when empty, or an error when the slot
    /// itself no longer exists (dead CNode, index past a shrunk CNode, unknown CSpace).
    pub(crate) fn slot_content(&self, slot: Slot, source: bool) -> Result<u32> {
        match slot.holder {
            Holder::Root(cs) => self
                .roots
                .get(cs as usize)
                .copied()
                .ok_or(Error::lookup(source, LookupFault::InvalidRoot)),
            Holder::CNode { idx, oid } => match self.obj(idx) {
                Some(ObjectEntry {
                    oid: o,
                    body: Body::CNode(c),
                    ..
                }) if *o == oid => {
                    c.slots
                        .get(slot.index as usize)
                        .copied()
                        .ok_or(Error::RangeError {
                            min: 0,
                            max: c.slots.len() as u64 - 1,
                        })
                }
                _ => Err(Error::lookup(source, LookupFault::InvalidRoot)),
            },
        }
    }

    /// Write a slot that `slot_content` accepted (or whose holder is being finalized,
    /// in which case there is nothing left to write).
    pub(crate) fn set_slot(&mut self, slot: Slot, c: u32) {
        match slot.holder {
            Holder::Root(cs) => {
                if let Some(r) = self.roots.get_mut(cs as usize) {
                    *r = c;
                }
            }
            Holder::CNode { idx, oid } => {
                if let Some(ObjectEntry {
                    oid: o,
                    body: Body::CNode(cn),
                    ..
                }) = self.obj_mut(idx)
                {
                    if *o == oid {
                        if let Some(s) = cn.slots.get_mut(slot.index as usize) {
                            *s = c;
                        }
                    }
                }
            }
        }
    }

    /// The capability in `slot`, if any.
    pub fn cap_at(&self, slot: Slot) -> Option<Cap> {
        match self.slot_content(slot, false) {
            Ok(c) if c != NIL => Some(self.cap_of(c)),
            _ => None,
        }
    }

    /// Slot `index` of the CNode named by `cnode_cap` (a capability to a CNode).
    pub fn slot_of(&self, cnode_cap: &Cap, index: u32) -> Result<Slot> {
        let store = self
            .cnode_store(cnode_cap.obj)
            .filter(|_| self.obj(cnode_cap.obj).map(|o| o.oid) == Some(cnode_cap.oid))
            .ok_or(Error::InvalidCapability { index: u8::MAX })?;
        if index as usize >= store.slots.len() {
            return Err(Error::RangeError {
                min: 0,
                max: store.slots.len() as u64 - 1,
            });
        }
        Ok(Slot {
            holder: Holder::CNode {
                idx: cnode_cap.obj,
                oid: cnode_cap.oid,
            },
            index,
        })
    }

    /// Slot `index` of the CNode object `oid` (for the kernel, which knows its CNodes
    /// by oid; programs go through CPtrs).
    pub fn cnode_slot(&self, oid: Oid, index: u32) -> Result<Slot> {
        let idx = *self
            .by_oid
            .get(&oid)
            .ok_or(Error::InvalidCapability { index: u8::MAX })?;
        let cap = Cap {
            oid,
            rights: Rights::empty(),
            badge: 0,
            obj: idx,
        };
        self.slot_of(&cap, index)
    }

    /// The lowest empty slot at or above `from` in the CNode object `oid` (Linux hands
    /// out the lowest free fd).
    pub fn first_empty_slot(&self, oid: Oid, from: u32) -> Option<u32> {
        let cn = self.by_oid.get(&oid).and_then(|&i| self.cnode_store(i))?;
        cn.slots
            .iter()
            .enumerate()
            .skip(from as usize)
            .find(|(_, &c)| c == NIL)
            .map(|(i, _)| i as u32)
    }

    /// Occupied slots of the CNode object `oid`, in slot order, with their caps (what
    /// fork walks to copy an fd table).
    pub fn cnode_entries(&self, oid: Oid) -> Vec<(u32, Cap)> {
        let Some(cn) = self.by_oid.get(&oid).and_then(|&i| self.cnode_store(i)) else {
            return Vec::new();
        };
        cn.slots
            .iter()
            .enumerate()
            .filter(|(_, &c)| c != NIL)
            .map(|(i, &c)| (i as u32, self.cap_of(c)))
            .collect()
    }

    /// The slot of the CDT parent of the capability in `slot`.
    pub fn cdt_parent(&self, slot: Slot) -> Option<Slot> {
        match self.slot_content(slot, false) {
            Ok(c) if c != NIL && self.node(c).parent != NIL => {
                Some(self.node(self.node(c).parent).loc)
            }
            _ => None,
        }
    }

    /// Slots of the CDT children of the capability in `slot`.
    /// Whether the capability in `slot` is a *made* one: its CDT parent is the
    /// capability to another object it was created through (see `crate::ops`).
    pub fn is_made(&self, slot: Slot) -> bool {
        match self.slot_content(slot, false) {
            Ok(c) if c != NIL => self.node(c).made,
            _ => false,
        }
    }

    pub fn cdt_children(&self, slot: Slot) -> Vec<Slot> {
        let mut out = Vec::new();
        if let Ok(c) = self.slot_content(slot, false) {
            if c != NIL {
                let mut ch = self.node(c).first_child;
                while ch != NIL {
                    out.push(self.node(ch).loc);
                    ch = self.node(ch).next_sib;
                }
            }
        }
        out
    }

    /// Typed access to an object defined outside this crate.
    pub fn object<T: ObjectType>(&self, cap: &Cap) -> Option<&T> {
        match self.obj(cap.obj) {
            Some(e) if e.oid == cap.oid => match &e.body {
                Body::Ext(o) => o.as_any().downcast_ref::<T>(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Type name of the object a capability names (`"cnode"`, `"budget"`, `"tcp"`...).
    pub fn type_name(&self, cap: &Cap) -> Option<&'static str> {
        self.obj(cap.obj)
            .filter(|e| e.oid == cap.oid)
            .map(|e| e.body.type_name())
    }

    /// Names of the per-type rights of the object a capability names (for text views
    /// outside this crate, like the kernel's debug console).
    pub fn right_names(&self, cap: &Cap) -> &'static [(&'static str, Rights)] {
        self.obj(cap.obj)
            .filter(|e| e.oid == cap.oid)
            .map_or(&[], |e| e.body.right_names())
    }

    /// Every live object's oid, in oid order.
    pub fn oids(&self) -> impl Iterator<Item = Oid> + '_ {
        self.by_oid.keys().copied()
    }

    /// An object's type name, the bytes charged for it, its capability count and the
    /// Budget it is charged to (None: the kernel's own).
    pub fn object_summary(&self, oid: Oid) -> Option<(&'static str, u64, u32, Option<Oid>)> {
        let e = self.by_oid.get(&oid).and_then(|&i| self.obj(i))?;
        let budget = self.obj(e.charged_to).map(|b| b.oid);
        Some((e.body.type_name(), e.size, e.cap_count, budget))
    }

    /// The object's own attributes as the capDL dump prints them (`radix: 6, guard:
    /// 0x0/54`, `limit: ..., used: ...`, or what its type's `capdl_attrs` says).
    pub fn object_attrs(&self, oid: Oid, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        match self
            .by_oid
            .get(&oid)
            .and_then(|&i| self.obj(i))
            .map(|e| &e.body)
        {
            Some(Body::CNode(c)) => write!(
                out,
                "radix: {}, guard: {:#x}/{}",
                c.radix, c.guard, c.guard_size
            ),
            Some(Body::Budget(b)) => write!(out, "limit: {}, used: {}", b.limit, b.used),
            Some(Body::Ext(o)) => o.capdl_attrs(out),
            None => Ok(()),
        }
    }

    /// Is this object alive?
    pub fn object_exists(&self, oid: Oid) -> bool {
        self.by_oid.contains_key(&oid)
    }

    /// Number of capabilities naming an object (0 when it no longer exists).
    pub fn cap_count(&self, oid: Oid) -> u32 {
        self.by_oid
            .get(&oid)
            .and_then(|&i| self.obj(i))
            .map_or(0, |e| e.cap_count)
    }

    /// Number of live objects.
    pub fn object_count(&self) -> usize {
        self.by_oid.len()
    }

    /// (limit, used) of a Budget object.
    pub fn budget_usage(&self, oid: Oid) -> Option<(u64, u64)> {
        match self.by_oid.get(&oid).and_then(|&i| self.obj(i)) {
            Some(ObjectEntry {
                body: Body::Budget(b),
                ..
            }) => Some((b.limit, b.used)),
            _ => None,
        }
    }

    /// Radix (log2 of the slot count) of a CNode object.
    pub fn cnode_radix(&self, oid: Oid) -> Option<u8> {
        self.by_oid
            .get(&oid)
            .and_then(|&i| self.cnode_store(i))
            .map(|c| c.radix)
    }

    // ---- creation ---------------------------------------------------------------

    pub(crate) fn alloc_cap(&mut self, n: CapNode) -> u32 {
        if let Some(i) = self.free_caps.pop() {
            self.caps[i as usize] = n;
            i
        } else {
            self.caps.push(n);
            (self.caps.len() - 1) as u32
        }
    }

    /// Check that `budget` (a slot holding a Budget cap with WRITE) can pay `size`;
    /// returns the Budget's object index. `index` is the extra-cap position for errors.
    pub(crate) fn check_charge(&self, budget: Slot, size: u64, index: u8) -> Result<u32> {
        let c = self.slot_content(budget, true)?;
        if c == NIL {
            return Err(Error::lookup(
                true,
                LookupFault::MissingCapability { bits_left: 0 },
            ));
        }
        let n = self.node(c);
        let Some(ObjectEntry {
            body: Body::Budget(b),
            ..
        }) = self.obj(n.obj)
        else {
            return Err(Error::InvalidCapability { index });
        };
        if !n.rights.contains(Rights::WRITE) {
            return Err(Error::InsufficientRights {
                missing: Rights::WRITE.bits(),
            });
        }
        let available = b.limit - b.used.min(b.limit);
        if size > available {
            return Err(Error::NotEnoughMemory {
                needed: size,
                available,
            });
        }
        Ok(n.obj)
    }

    pub(crate) fn check_empty(&self, dst: Slot) -> Result<()> {
        match self.slot_content(dst, false)? {
            NIL => Ok(()),
            _ => Err(Error::DeleteFirst),
        }
    }

    /// Create an object whose first capability (all `rights`, no badge, no CDT parent)
    /// goes into `dst`. Callers checked `dst` empty and the charge affordable.
    pub(crate) fn insert_object(
        &mut self,
        body: Body,
        size: u64,
        charge: Option<u32>,
        dst: Slot,
        rights: Rights,
    ) -> Cap {
        let oid = self.next_oid;
        self.next_oid += 1;
        let entry = ObjectEntry {
            oid,
            body,
            size,
            cap_count: 0,
            caps_head: NIL,
            charged_to: NIL,
            charge_prev: NIL,
            charge_next: NIL,
        };
        let idx = match self.free_objects.pop() {
            Some(i) => {
                self.objects[i as usize] = Some(entry);
                i
            }
            None => {
                self.objects.push(Some(entry));
                (self.objects.len() - 1) as u32
            }
        };
        self.by_oid.insert(oid, idx);
        if let Some(b) = charge {
            self.link_charge(b, idx);
        }
        let c = self.alloc_cap(CapNode {
            obj: idx,
            rights,
            loc: dst,
            ..CapNode::FREE
        });
        self.link_obj_cap(idx, c);
        self.set_slot(dst, c);
        self.cap_of(c)
    }

    /// Lower a Budget's limit (decode checked `used <= limit <= old limit`); a child
    /// Budget's size shrinks with it, which refunds its parent.
    pub(crate) fn shrink_budget(&mut self, budget: u32, limit: u64) {
        let Some(e) = self.obj_mut(budget) else {
            return;
        };
        let Body::Budget(b) = &mut e.body else { return };
        let freed = b.limit - limit.min(b.limit);
        b.limit = limit;
        e.size = limit;
        let parent = e.charged_to;
        if let Some(Body::Budget(p)) = self.obj_mut(parent).map(|p| &mut p.body) {
            p.used = p.used.saturating_sub(freed);
        }
    }

    fn link_charge(&mut self, budget: u32, obj: u32) {
        let size = self.obj(obj).map_or(0, |e| e.size);
        let mut old_head = NIL;
        if let Some(ObjectEntry {
            body: Body::Budget(b),
            ..
        }) = self.obj_mut(budget)
        {
            b.used += size;
            old_head = b.charged_head;
            b.charged_head = obj;
        }
        if let Some(h) = self.obj_mut(old_head) {
            h.charge_prev = obj;
        }
        if let Some(e) = self.obj_mut(obj) {
            e.charged_to = budget;
            e.charge_prev = NIL;
            e.charge_next = old_head;
        }
    }

    /// Take `obj` off its Budget's list and refund its size.
    pub(crate) fn unlink_charge(&mut self, obj: u32) {
        let Some(e) = self.obj(obj) else { return };
        let (budget, prev, next, size) = (e.charged_to, e.charge_prev, e.charge_next, e.size);
        if budget == NIL {
            return;
        }
        if let Some(p) = self.obj_mut(prev) {
            p.charge_next = next;
        }
        if let Some(n) = self.obj_mut(next) {
            n.charge_prev = prev;
        }
        if let Some(ObjectEntry {
            body: Body::Budget(b),
            ..
        }) = self.obj_mut(budget)
        {
            b.used = b.used.saturating_sub(size);
            if b.charged_head == obj {
                b.charged_head = next;
            }
        }
        if let Some(e) = self.obj_mut(obj) {
            e.charged_to = NIL;
            e.charge_prev = NIL;
            e.charge_next = NIL;
        }
    }

    pub(crate) fn link_obj_cap(&mut self, obj: u32, c: u32) {
        let Some(e) = self.obj_mut(obj) else { return };
        let head = e.caps_head;
        e.caps_head = c;
        e.cap_count += 1;
        if let Some(h) = self.caps.get_mut(head as usize) {
            h.obj_prev = c;
        }
        let n = &mut self.caps[c as usize];
        n.obj_prev = NIL;
        n.obj_next = head;
    }

    /// Create a CSpace whose root CNode (2^`radix` slots, `guard_size` bits of
    /// `guard`) is charged to `budget`, or to nobody when `budget` is `None` (the
    /// kernel's own boot-time CSpaces, like seL4's initial thread).
    pub fn create_cspace(
        &mut self,
        budget: Option<Slot>,
        radix: u8,
        guard_size: u8,
        guard: u64,
    ) -> Result<CSpaceId> {
        check_cnode_shape(radix, guard_size, guard, 0)?;
        let size = cnode_size(radix);
        let charge = match budget {
            Some(b) => Some(self.check_charge(b, size, 0)?),
            None => None,
        };
        let cs = self.roots.len() as u32;
        self.roots.push(NIL);
        let body = Body::CNode(new_cnode(radix, guard_size, guard));
        self.insert_object(body, size, charge, Slot::root(CSpaceId(cs)), Rights::ALL);
        Ok(CSpaceId(cs))
    }

    /// Delete a CSpace's root capability (the CSpace then has an invalid root).
    pub fn destroy_cspace(&mut self, cs: CSpaceId) -> Result<()> {
        self.delete(Slot::root(cs))
    }

    /// Create a CNode charged to `budget`, its capability in `dst`.
    pub fn create_cnode(
        &mut self,
        budget: Slot,
        dst: Slot,
        radix: u8,
        guard_size: u8,
        guard: u64,
    ) -> Result<Cap> {
        check_cnode_shape(radix, guard_size, guard, 0)?;
        let size = cnode_size(radix);
        self.check_empty(dst)?;
        let b = self.check_charge(budget, size, 0)?;
        let body = Body::CNode(new_cnode(radix, guard_size, guard));
        Ok(self.insert_object(body, size, Some(b), dst, Rights::ALL))
    }

    /// Create a Budget of `bytes`. With `parent`, the bytes come out of that Budget
    /// (a split); without, it is an initial Budget handed out by the kernel at boot.
    pub fn create_budget(&mut self, parent: Option<Slot>, dst: Slot, bytes: u64) -> Result<Cap> {
        self.check_empty(dst)?;
        let charge = match parent {
            Some(p) => Some(self.check_charge(p, bytes, 0)?),
            None => None,
        };
        let body = Body::Budget(BudgetStore {
            limit: bytes,
            used: 0,
            charged_head: NIL,
        });
        Ok(self.insert_object(body, bytes, charge, dst, Rights::ALL))
    }

    /// Create an object of an outside type charged to `budget`; its first capability,
    /// with `rights`, goes into `dst`.
    pub fn create_object<T: ObjectType>(
        &mut self,
        budget: Slot,
        dst: Slot,
        object: T,
        rights: Rights,
    ) -> Result<Cap> {
        let ticket = self.prepare_create(budget, dst, ObjectType::size(&object))?;
        self.commit_create(ticket, Arc::new(object), rights)
    }

    /// Decode half of creating an object inside an invocation: checks the budget (a
    /// Budget cap with WRITE that can pay `size`) and that `dst` is empty.
    pub fn prepare_create(&self, budget: Slot, dst: Slot, size: u64) -> Result<CreateTicket> {
        self.check_empty(dst)?;
        let b = self.check_charge(budget, size, 0)?;
        Ok(CreateTicket {
            budget: b,
            budget_slot: budget,
            dst,
            size,
            made_by: None,
        })
    }

    /// [`prepare_create`](Self::prepare_create) for an object made by invoking the
    /// capability in `maker` (an outside type's decode passes its invocation's target):
    /// the new capability becomes a *made* CDT child of it, so revoking `maker` (or an
    /// ancestor) deletes it.
    pub fn prepare_create_by(
        &self,
        maker: Slot,
        budget: Slot,
        dst: Slot,
        size: u64,
    ) -> Result<CreateTicket> {
        self.source_cap(maker)?;
        Ok(CreateTicket {
            made_by: Some(maker),
            ..self.prepare_create(budget, dst, size)?
        })
    }

    /// Perform half: create the object a ticket was issued for. It fails only if the
    /// system changed between `prepare_create` and this call, which cannot happen
    /// inside one decode/perform pair.
    pub fn commit_create(
        &mut self,
        ticket: CreateTicket,
        object: Arc<dyn DynObject>,
        rights: Rights,
    ) -> Result<Cap> {
        let again = self.prepare_create(ticket.budget_slot, ticket.dst, ticket.size)?;
        if again.budget != ticket.budget {
            return Err(Error::InvalidCapability { index: 0 });
        }
        let maker = match ticket.made_by {
            Some(m) => Some(self.source_cap(m)?),
            None => None,
        };
        let cap = self.insert_object(
            Body::Ext(object),
            ticket.size,
            Some(ticket.budget),
            ticket.dst,
            rights,
        );
        if let Some(m) = maker {
            let c = self.slot_content(ticket.dst, false)?;
            self.link_child(m, c);
            self.caps[c as usize].made = true;
        }
        Ok(cap)
    }
}

/// Proof from [`CapSystem::prepare_create`] that a creation can go ahead.
#[derive(Debug)]
pub struct CreateTicket {
    budget: u32,
    budget_slot: Slot,
    dst: Slot,
    size: u64,
    made_by: Option<Slot>,
}

pub(crate) fn cnode_size(radix: u8) -> u64 {
    CNODE_HEADER_BYTES + (CNODE_SLOT_BYTES << radix)
}

fn new_cnode(radix: u8, guard_size: u8, guard: u64) -> CNodeStore {
    CNodeStore {
        radix,
        guard_size,
        guard,
        slots: alloc::vec![NIL; 1usize << radix],
    }
}

/// Radix in 1..=MAX_RADIX (a level must consume at least one bit, or a CPtr could
/// loop), radix + guard within a 64-bit CPtr, guard fitting its size. `first` is the
/// argument index of the radix for error reports.
pub(crate) fn check_cnode_shape(radix: u8, guard_size: u8, guard: u64, first: u8) -> Result<()> {
    if !(1..=MAX_RADIX).contains(&radix) {
        return Err(Error::RangeError {
            min: 1,
            max: MAX_RADIX as u64,
        });
    }
    if radix as u32 + guard_size as u32 > 64 {
        return Err(Error::RangeError {
            min: 0,
            max: 64 - radix as u64,
        });
    }
    if guard_size < 64 && guard >> guard_size != 0 {
        return Err(Error::InvalidArgument { index: first + 2 });
    }
    Ok(())
}
