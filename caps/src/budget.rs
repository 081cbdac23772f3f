//! Budget: a quantity of kernel memory that object creation is charged to (seL4's
//! Untyped, simplified: bytes are counted, not placed).
//!
//! Every object but the kernel's boot-time ones is charged to a Budget for its size
//! when created and refunded when finalized. A Budget can be split: the child Budget
//! is itself an object of `bytes` charged to its parent. Revoking a Budget capability
//! (CNode Revoke on its slot) destroys every object charged to that Budget, child
//! Budgets and what they paid for included; so does deleting its last capability.
//!
//! | label | operation | words | extra caps | rights needed | reply |
//! |------:|-----------|-------|------------|---------------|-------|
//! | 1 | Split | bytes, dest_index, dest_depth | dest_root (CNode) | WRITE on invoked and dest_root | — |
//! | 2 | Info  | — | — | READ | limit, used |
//! | 3 | Shrink | new_limit | — | WRITE | — |
//!
//! Errors: unknown label: IllegalOperation; missing words or caps:
//! TruncatedMessage; a missing right: InsufficientRights; Split of `bytes == 0`:
//! InvalidArgument(0); dest_root not a CNode: FailedLookup(InvalidRoot); bad
//! dest CPtr: FailedLookup / RangeError (depth); occupied destination: DeleteFirst;
//! more bytes than are left: NotEnoughMemory { needed, available }. Shrink above
//! the current limit: RangeError { 0, limit }; below what is in use: RevokeFirst
//! (destroy objects first). Shrinking a child Budget gives the bytes back to its
//! parent.

use crate::error::{Error, Result};
use crate::invoke::{require, Invocation, Reply};
use crate::object::{Body, BudgetStore};
use crate::rights::Rights;
use crate::system::{CapSystem, Slot, NIL};

/// Operation numbers (labels) of Budget invocations.
pub mod label {
    pub const SPLIT: u64 = 1;
    pub const INFO: u64 = 2;
    pub const SHRINK: u64 = 3;
}

enum Op {
    Split { budget: u32, bytes: u64, dst: Slot },
    Info { limit: u64, used: u64 },
    Shrink { budget: u32, limit: u64 },
}

pub(crate) fn invoke(sys: &mut CapSystem, inv: &Invocation<'_>) -> Result<Reply> {
    let op = decode(sys, inv)?;
    Ok(perform(sys, op))
}

fn decode(sys: &CapSystem, inv: &Invocation<'_>) -> Result<Op> {
    match inv.label {
        label::SPLIT => {
            if inv.words.len() < 3 || inv.caps.is_empty() {
                return Err(Error::TruncatedMessage);
            }
            let dest_root = inv.extra(0)?.cap;
            inv.require(Rights::WRITE)?;
            require(&dest_root, Rights::WRITE)?;
            let bytes = inv.word(0)?;
            if bytes == 0 {
                return Err(Error::InvalidArgument { index: 0 });
            }
            let dst = sys.lookup_slot_from(dest_root.obj, inv.word(1)?, inv.word(2)?, false)?;
            sys.check_empty(dst)?;
            let budget = sys.check_charge(inv.target.slot, bytes, u8::MAX)?;
            Ok(Op::Split { budget, bytes, dst })
        }
        label::INFO => {
            inv.require(Rights::READ)?;
            match sys.obj(inv.target.cap.obj).map(|e| &e.body) {
                Some(Body::Budget(b)) => Ok(Op::Info {
                    limit: b.limit,
                    used: b.used,
                }),
                _ => Err(Error::InvalidCapability { index: u8::MAX }),
            }
        }
        label::SHRINK => {
            let limit = inv.word(0)?;
            inv.require(Rights::WRITE)?;
            match sys.obj(inv.target.cap.obj).map(|e| &e.body) {
                Some(Body::Budget(b)) if limit > b.limit => Err(Error::RangeError {
                    min: 0,
                    max: b.limit,
                }),
                Some(Body::Budget(b)) if limit < b.used => Err(Error::RevokeFirst),
                Some(Body::Budget(_)) => Ok(Op::Shrink {
                    budget: inv.target.cap.obj,
                    limit,
                }),
                _ => Err(Error::InvalidCapability { index: u8::MAX }),
            }
        }
        _ => Err(Error::IllegalOperation),
    }
}

fn perform(sys: &mut CapSystem, op: Op) -> Reply {
    match op {
        Op::Split { budget, bytes, dst } => {
            let body = Body::Budget(BudgetStore {
                limit: bytes,
                used: 0,
                charged_head: NIL,
            });
            sys.insert_object(body, bytes, Some(budget), dst, Rights::ALL);
            Reply::empty()
        }
        Op::Info { limit, used } => Reply::with_words(&[limit, used]),
        Op::Shrink { budget, limit } => {
            sys.shrink_budget(budget, limit);
            Reply::empty()
        }
    }
}
