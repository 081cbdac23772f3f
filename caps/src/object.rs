//! Kernel objects: the open set of types a capability can name.
//!
//! Two types are built in because the capability core itself depends on their state:
//! CNodes (see [`crate::cnode`]) and Budgets (see [`crate::budget`]). Every other type —
//! netobj's NetStack and endpoints, the kernel's pipes and ttys — implements
//! [`ObjectType`] in its own crate and is stored here as a trait object, so adding a
//! type never edits this crate.
//!
//! An object type's invocation is split like seL4's: [`ObjectType::decode`] sees the
//! system read-only, checks every argument, right and slot, and returns an operation
//! value; [`ObjectType::perform`] applies it and cannot fail. The blanket
//! [`DynObject`] impl is the only caller of the pair, so an error can never leave
//! half-done state behind.

use alloc::sync::Arc;
use core::any::Any;
use core::fmt;

use crate::error::Result;
use crate::invoke::{Invocation, Reply};
use crate::rights::Rights;
use crate::system::CapSystem;

/// A kernel object's identity: assigned at creation, never reused.
pub type Oid = u64;

/// An object type defined outside this crate.
///
/// The object is shared (`Arc`) and invoked through `&self`; a type with mutable state
/// keeps it behind its own interior mutability (the kernel calls in under one lock).
pub trait ObjectType: Any + Send + Sync + Sized {
    /// Short lower-case type name used in text views and capDL dumps (`"tcp"`).
    const NAME: &'static str;
    /// Names of this type's per-type rights (bits 32..64), for text views.
    const RIGHT_NAMES: &'static [(&'static str, Rights)] = &[];
    /// A decoded, fully checked operation.
    type Op;

    /// The type name this object shows in views and dumps: [`Self::NAME`], unless
    /// the type's instances wrap different things (a Linux open file that is a TCP
    /// socket shows as `tcp`).
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// Bytes charged to the creating Budget; read once, at creation.
    fn size(&self) -> u64;

    /// Check the invocation completely; must not change any state.
    fn decode(&self, sys: &CapSystem, inv: &Invocation<'_>) -> Result<Self::Op>;

    /// Apply a decoded operation; cannot fail (every check happened in decode).
    fn perform(&self, sys: &mut CapSystem, inv: &Invocation<'_>, op: Self::Op) -> Reply;

    /// Called exactly once, when the last capability to the object is deleted (or its
    /// Budget is revoked): close the socket, free the ident.
    fn finalize(&self) {}

    /// Called just before `finalize` when the last capability went by revocation (a
    /// Revoke of an ancestor, or of the Budget charged for it) rather than by its
    /// holder deleting it: cancel what is in progress (a blocked receive), as seL4
    /// cancels IPC on a destroyed endpoint. A holder's delete (a Linux close) does not
    /// call it.
    fn revoked(&self) {}

    /// Extra attributes for the capDL dump (`ident: 7`); nothing by default.
    fn capdl_attrs(&self, _out: &mut dyn fmt::Write) -> fmt::Result {
        Ok(())
    }
}

/// The object-safe face of [`ObjectType`], implemented for every `ObjectType`.
pub trait DynObject: Any + Send + Sync {
    fn type_name(&self) -> &'static str;
    fn right_names(&self) -> &'static [(&'static str, Rights)];
    fn size(&self) -> u64;
    fn invoke(&self, sys: &mut CapSystem, inv: &Invocation<'_>) -> Result<Reply>;
    fn finalize(&self);
    fn revoked(&self);
    fn capdl_attrs(&self, out: &mut dyn fmt::Write) -> fmt::Result;
    fn as_any(&self) -> &dyn Any;
}

impl<T: ObjectType> DynObject for T {
    fn type_name(&self) -> &'static str {
        ObjectType::name(self)
    }
    fn right_names(&self) -> &'static [(&'static str, Rights)] {
        T::RIGHT_NAMES
    }
    fn size(&self) -> u64 {
        ObjectType::size(self)
    }
    #[inline]
    fn invoke(&self, sys: &mut CapSystem, inv: &Invocation<'_>) -> Result<Reply> {
        let op = self.decode(sys, inv)?;
        Ok(self.perform(sys, inv, op))
    }
    fn finalize(&self) {
        ObjectType::finalize(self)
    }
    fn revoked(&self) {
        ObjectType::revoked(self)
    }
    fn capdl_attrs(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        ObjectType::capdl_attrs(self, out)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The state the core keeps for a CNode: slots index the capability arena.
pub(crate) struct CNodeStore {
    pub radix: u8,
    pub guard_size: u8,
    pub guard: u64,
    /// Capability index per slot, or `NIL` when empty.
    pub slots: alloc::vec::Vec<u32>,
}

/// The state the core keeps for a Budget.
pub(crate) struct BudgetStore {
    pub limit: u64,
    pub used: u64,
    /// Head of the list (through `ObjectEntry::charge_next`) of objects charged here.
    pub charged_head: u32,
}

pub(crate) enum Body {
    CNode(CNodeStore),
    Budget(BudgetStore),
    Ext(Arc<dyn DynObject>),
}

impl Body {
    pub fn type_name(&self) -> &'static str {
        match self {
            Body::CNode(_) => "cnode",
            Body::Budget(_) => "budget",
            Body::Ext(o) => o.type_name(),
        }
    }

    pub fn right_names(&self) -> &'static [(&'static str, Rights)] {
        match self {
            Body::Ext(o) => o.right_names(),
            _ => &[],
        }
    }
}

/// One live object in the object table.
pub(crate) struct ObjectEntry {
    pub oid: Oid,
    pub body: Body,
    /// Bytes charged to `charged_to` (0 for kernel-created objects).
    pub size: u64,
    pub cap_count: u32,
    /// Head of the list (through `CapNode::obj_next`) of capabilities to this object.
    pub caps_head: u32,
    /// Object index of the Budget charged for this object, or `NIL`.
    pub charged_to: u32,
    pub charge_prev: u32,
    pub charge_next: u32,
}
