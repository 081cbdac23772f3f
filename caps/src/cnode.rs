//! CNode: a table of 2^radix capability slots, and the operations on capabilities.
//!
//! CNode invocations are made on a CNode capability; the slots they name are CPtrs
//! resolved *from that CNode* (seL4's `lookupSlotForCNodeOp`: `index` and `depth`
//! must name a slot exactly). Source slots of two-slot operations resolve from an
//! extra CNode capability, the "source root". Depths are 1..=64 (RangeError).
//!
//! | label | operation | words | extra caps | rights needed |
//! |------:|-----------|-------|------------|---------------|
//! | 1 | Copy   | dest_index, dest_depth, src_index, src_depth, rights | src_root | WRITE on invoked; READ on src_root; DUP on source |
//! | 2 | Mint   | same as Copy, then badge | src_root | as Copy |
//! | 3 | Move   | dest_index, dest_depth, src_index, src_depth | src_root | WRITE on invoked and src_root |
//! | 4 | Delete | index, depth | — | WRITE |
//! | 5 | Revoke | index, depth | — | WRITE |
//! | 6 | Rotate | dest_index, dest_depth, pivot_index, pivot_depth, src_index, src_depth | pivot_root, src_root | WRITE on all three |
//! | 7 | Resize | radix, guard_size, guard (of the invoked CNode itself) | — | WRITE |
//!
//! Errors, in the order they are checked:
//! - unknown label: IllegalOperation;
//! - missing words or caps: TruncatedMessage;
//! - invoked or root capability lacking a right: InsufficientRights;
//! - a CPtr that does not resolve: FailedLookup (`source` set for src/pivot);
//!   a non-CNode root: FailedLookup(InvalidRoot);
//! - depth outside 1..=64: RangeError;
//! - destination occupied: DeleteFirst; empty source, pivot or delete/revoke target:
//!   FailedLookup(MissingCapability);
//! - Copy/Mint asking rights the source lacks: InsufficientRights (never masked);
//!   Mint changing a set badge: InvalidArgument(5);
//! - Rotate with pivot equal to source or destination: IllegalOperation;
//! - Resize: radix outside 1..=24 or radix + guard_size > 64: RangeError; guard wider
//!   than guard_size: InvalidArgument(2); occupied slots beyond the new size:
//!   DeleteFirst; growth the CNode's Budget cannot pay: NotEnoughMemory.
//!
//! Every operation replies with no words.

use crate::error::{Error, Result};
use crate::invoke::{require, Invocation, Reply};
use crate::ops::{Derive, ARG_RIGHTS};
use crate::rights::Rights;
use crate::system::{CapSystem, Slot};

/// Operation numbers (labels) of CNode invocations.
pub mod label {
    pub const COPY: u64 = 1;
    pub const MINT: u64 = 2;
    pub const MOVE: u64 = 3;
    pub const DELETE: u64 = 4;
    pub const REVOKE: u64 = 5;
    pub const ROTATE: u64 = 6;
    pub const RESIZE: u64 = 7;
}

/// A decoded CNode operation.
enum Op {
    Derive(Derive),
    Move {
        cap: u32,
        src: Slot,
        dst: Slot,
    },
    Rotate {
        s: u32,
        p: u32,
        src: Slot,
        pivot: Slot,
        dst: Slot,
    },
    Delete(u32),
    Revoke(u32),
    Resize {
        idx: u32,
        radix: u8,
        guard_size: u8,
        guard: u64,
    },
}

pub(crate) fn invoke(sys: &mut CapSystem, inv: &Invocation<'_>) -> Result<Reply> {
    let op = decode(sys, inv)?;
    perform(sys, op);
    Ok(Reply::empty())
}

/// Resolve words `i`, `i+1` (index, depth) from the CNode capability `root`.
fn slot_arg(
    sys: &CapSystem,
    inv: &Invocation<'_>,
    root: &crate::system::Cap,
    i: usize,
    source: bool,
) -> Result<Slot> {
    sys.lookup_slot_from(root.obj, inv.word(i)?, inv.word(i + 1)?, source)
}

fn small(word: u64, index: u8) -> Result<u8> {
    u8::try_from(word).map_err(|_| Error::InvalidArgument { index })
}

fn decode(sys: &CapSystem, inv: &Invocation<'_>) -> Result<Op> {
    let me = inv.target.cap;
    match inv.label {
        label::COPY | label::MINT => {
            let n_words = if inv.label == label::MINT { 6 } else { 5 };
            if inv.words.len() < n_words || inv.caps.is_empty() {
                return Err(Error::TruncatedMessage);
            }
            let src_root = inv.extra(0)?.cap;
            require(&me, Rights::WRITE)?;
            require(&src_root, Rights::READ)?;
            let dst = slot_arg(sys, inv, &me, 0, false)?;
            let src = slot_arg(sys, inv, &src_root, 2, true)?;
            let rights = Rights::from_bits_retain(inv.word(ARG_RIGHTS as usize)?);
            let badge = match inv.label {
                label::MINT => Some(inv.word(5)?),
                _ => None,
            };
            let d = sys.check_derive(src, dst, rights, badge)?;
            require(&sys.cap_of(d.src), Rights::DUP)?;
            Ok(Op::Derive(d))
        }
        label::MOVE => {
            if inv.words.len() < 4 || inv.caps.is_empty() {
                return Err(Error::TruncatedMessage);
            }
            let src_root = inv.extra(0)?.cap;
            require(&me, Rights::WRITE)?;
            require(&src_root, Rights::WRITE)?;
            let dst = slot_arg(sys, inv, &me, 0, false)?;
            let src = slot_arg(sys, inv, &src_root, 2, true)?;
            let cap = sys.check_move(src, dst)?;
            Ok(Op::Move { cap, src, dst })
        }
        label::DELETE | label::REVOKE => {
            if inv.words.len() < 2 {
                return Err(Error::TruncatedMessage);
            }
            require(&me, Rights::WRITE)?;
            let slot = slot_arg(sys, inv, &me, 0, false)?;
            let c = sys.source_cap(slot)?;
            Ok(match inv.label {
                label::DELETE => Op::Delete(c),
                _ => Op::Revoke(c),
            })
        }
        label::ROTATE => {
            if inv.words.len() < 6 || inv.caps.len() < 2 {
                return Err(Error::TruncatedMessage);
            }
            let pivot_root = inv.extra(0)?.cap;
            let src_root = inv.extra(1)?.cap;
            require(&me, Rights::WRITE)?;
            require(&pivot_root, Rights::WRITE)?;
            require(&src_root, Rights::WRITE)?;
            let dst = slot_arg(sys, inv, &me, 0, false)?;
            let pivot = slot_arg(sys, inv, &pivot_root, 2, true)?;
            let src = slot_arg(sys, inv, &src_root, 4, true)?;
            let (s, p) = sys.check_rotate(src, pivot, dst)?;
            Ok(Op::Rotate {
                s,
                p,
                src,
                pivot,
                dst,
            })
        }
        label::RESIZE => {
            if inv.words.len() < 3 {
                return Err(Error::TruncatedMessage);
            }
            require(&me, Rights::WRITE)?;
            let radix = small(inv.word(0)?, 0)?;
            let guard_size = small(inv.word(1)?, 1)?;
            let guard = inv.word(2)?;
            let idx = sys.check_resize(&me, radix, guard_size, guard)?;
            Ok(Op::Resize {
                idx,
                radix,
                guard_size,
                guard,
            })
        }
        _ => Err(Error::IllegalOperation),
    }
}

fn perform(sys: &mut CapSystem, op: Op) {
    match op {
        Op::Derive(d) => {
            sys.do_derive(d);
        }
        Op::Move { cap, src, dst } => sys.do_move(cap, src, dst),
        Op::Rotate {
            s,
            p,
            src,
            pivot,
            dst,
        } => sys.do_rotate(s, p, src, pivot, dst),
        Op::Delete(c) => {
            sys.delete_cap(c);
            sys.drain_pending();
        }
        Op::Revoke(c) => sys.revoke_cap(c),
        Op::Resize {
            idx,
            radix,
            guard_size,
            guard,
        } => sys.do_resize(idx, radix, guard_size, guard),
    }
}
