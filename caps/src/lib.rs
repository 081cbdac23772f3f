//! caps: Writ's seL4-style capability core.
//!
//! Every kernel object a program can touch — a file, a pipe, a socket, the network
//! stack itself — is reached only through a capability, and this crate is that model.
//! It has no locks, no `unsafe` and no `std`; the kernel owns one [`CapSystem`] behind
//! one lock, and the host runs its tests.
//!
//! How the parts fit:
//! - [`rights`]: [`Rights`], generic bits (READ, WRITE, GRANT, DUP) plus per-type bits.
//! - [`object`]: the open set of object types. Outside crates implement
//!   [`ObjectType`] (decode, then perform, then finalize); CNode and Budget are built in.
//! - [`system`]: [`CapSystem`], the arenas of capabilities and objects, CSpaces,
//!   object creation ([`CapSystem::create_object`] charges a Budget).
//! - [`lookup`]: CPtr resolution through guarded CNodes with seL4's lookup faults.
//! - [`ops`]: Copy, Mint, Move, Rotate, Delete, Revoke, the derivation tree and
//!   finalization; all iterative.
//! - [`cnode`], [`budget`]: the built-in types' invocations (each module documents its
//!   labels, arguments, rights and errors).
//! - [`invoke`]: the ABI, [`CapSystem::invoke`] → [`Reply`] or [`Error`].
//! - [`check`]: [`CapSystem::check`], the invariant checker.
//! - [`view`]: text views of a CSpace, a CDT subtree, and a capDL-style dump.
//!
//! The CSpace shape the Linux personality uses: a root CNode of radix 4 with guard 0;
//! slot 0 holds the fd CNode (radix R, guard size 60 - R, so fd N has CPtr N for any R
//! and [`CapSystem::resize_cnode`] can grow it), slot 1 the authority CNode
//! (CPtr `1 << 60 | k` for its slot k when it is shaped the same way).
//!
//! Adding an object type from another crate: implement [`ObjectType`] (a NAME, the
//! per-type right names, `size`, `decode`, `perform`, `finalize`). Create objects
//! with [`CapSystem::create_object`] from kernel code, or, inside an invocation,
//! with [`CapSystem::prepare_create`] in decode and [`CapSystem::commit_create`] in
//! perform; find destination slots with [`CapSystem::lookup_slot_in`] from an extra
//! CNode capability; reach your object behind a capability with
//! [`CapSystem::object`]. `finalize` runs with the kernel's capability lock held,
//! so it must not call back into the capability system.
//!
//! Known limits: Delete moves the deleted capability's children up to its parent,
//! which costs one step per child (Revoke is linear in what it removes). A CNode
//! capability stored inside its own CNode keeps that CNode alive until something
//! outside deletes it or its Budget is revoked (seL4 needs zombies for this case).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod budget;
pub mod check;
pub mod cnode;
pub mod error;
pub mod invoke;
pub mod lookup;
pub mod object;
pub mod ops;
pub mod rights;
pub mod system;
pub mod view;

pub use check::Violation;
pub use error::{Error, LookupFault, Result};
pub use invoke::{require, ExtraCap, Invocation, Reply, MAX_EXTRA_CAPS, MAX_REPLY_WORDS};
pub use lookup::CPtr;
pub use object::{DynObject, ObjectType, Oid};
pub use rights::Rights;
pub use system::{CSpaceId, Cap, CapSystem, CreateTicket, Slot};
