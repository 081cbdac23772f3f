//! CPtr resolution through guarded, multi-level CNodes, as seL4's
//! `resolveAddressBits` (`src/kernel/cspace.c`).
//!
//! A CPtr is read from its most significant end: at each CNode, `guard_size` bits must
//! equal the guard, the next `radix` bits pick a slot. If bits remain and that slot
//! holds another CNode capability, resolution continues there; if it holds anything
//! else, resolution stops with bits remaining (allowed for invocation, a
//! DepthMismatch for CNode operations, which must name a slot exactly).
//!
//! Writ keeps the guard in the CNode object rather than in each CNode capability (as
//! seL4 does), so growing an fd CNode can shrink its guard and keep every fd's CPtr
//! unchanged; see [`CapSystem::resize_cnode`].

use crate::error::{Error, LookupFault, Result};
use crate::object::{Body, ObjectEntry};
use crate::system::{CSpaceId, Cap, CapSystem, Holder, Slot, NIL};

/// A capability address: up to 64 bits, consumed from the top.
pub type CPtr = u64;

impl CapSystem {
    /// Resolve `depth` bits of `cptr` starting at the CNode object `root` (an object
    /// index). Returns the slot reached and the bits left unresolved.
    #[inline]
    pub(crate) fn resolve_from(
        &self,
        root: u32,
        cptr: CPtr,
        depth: u8,
        source: bool,
    ) -> Result<(Slot, u8)> {
        let fault = |f| Error::lookup(source, f);
        let mut obj = root;
        let mut n_bits = depth as u32;
        let Some(mut cn) = self.cnode_store(obj) else {
            return Err(fault(LookupFault::InvalidRoot));
        };
        loop {
            let radix = cn.radix as u32;
            let guard_bits = cn.guard_size as u32;
            let level_bits = radix + guard_bits;
            if guard_bits > n_bits {
                return Err(fault(LookupFault::GuardMismatch {
                    bits_left: n_bits as u8,
                    guard_found: cn.guard,
                    guard_size: guard_bits as u8,
                }));
            }
            let guard = field(cptr, n_bits - guard_bits, guard_bits);
            if guard != cn.guard {
                return Err(fault(LookupFault::GuardMismatch {
                    bits_left: n_bits as u8,
                    guard_found: cn.guard,
                    guard_size: guard_bits as u8,
                }));
            }
            if level_bits > n_bits {
                return Err(fault(LookupFault::DepthMismatch {
                    bits_found: level_bits as u8,
                    bits_left: n_bits as u8,
                }));
            }
            let offset = field(cptr, n_bits - level_bits, radix) as u32;
            let slot = Slot {
                holder: Holder::CNode {
                    idx: obj,
                    oid: self.obj(obj).map_or(0, |o| o.oid),
                },
                index: offset,
            };
            n_bits -= level_bits;
            if n_bits == 0 {
                return Ok((slot, 0));
            }
            let next = cn.slots.get(offset as usize).copied().unwrap_or(NIL);
            if next == NIL {
                return Ok((slot, n_bits as u8));
            }
            let next_obj = self.node(next).obj;
            match self.obj(next_obj) {
                Some(ObjectEntry {
                    body: Body::CNode(c),
                    ..
                }) => {
                    obj = next_obj;
                    cn = c;
                }
                _ => return Ok((slot, n_bits as u8)),
            }
        }
    }

    /// seL4's `lookupSlotForCNodeOp`: `depth` bits of `cptr` from the CNode object
    /// `root` must name a slot exactly.
    pub(crate) fn lookup_slot_from(
        &self,
        root: u32,
        cptr: CPtr,
        depth: u64,
        source: bool,
    ) -> Result<Slot> {
        if !(1..=64).contains(&depth) {
            return Err(Error::RangeError { min: 1, max: 64 });
        }
        let (slot, left) = self.resolve_from(root, cptr, depth as u8, source)?;
        if left != 0 {
            return Err(Error::lookup(
                source,
                LookupFault::DepthMismatch {
                    bits_found: 0,
                    bits_left: left,
                },
            ));
        }
        Ok(slot)
    }

    /// The slot `depth` bits of `index` name exactly, starting at the CNode that
    /// `cnode` (typically an invocation's extra capability) names: how an outside
    /// object type's decode finds a destination slot, as CNode operations do.
    pub fn lookup_slot_in(
        &self,
        cnode: &Cap,
        index: CPtr,
        depth: u64,
        source: bool,
    ) -> Result<Slot> {
        if self.obj(cnode.obj).map(|e| e.oid) != Some(cnode.oid) {
            return Err(Error::lookup(source, LookupFault::InvalidRoot));
        }
        self.lookup_slot_from(cnode.obj, index, depth, source)
    }

    pub(crate) fn root_of(&self, cs: CSpaceId) -> Result<u32> {
        match self.roots.get(cs.0 as usize) {
            Some(&r) if r != NIL => Ok(self.node(r).obj),
            _ => Err(Error::lookup(false, LookupFault::InvalidRoot)),
        }
    }

    /// The slot `depth` bits of `cptr` name exactly in CSpace `cs`.
    pub fn lookup_slot(&self, cs: CSpaceId, cptr: CPtr, depth: u8) -> Result<Slot> {
        let root = self.root_of(cs)?;
        self.lookup_slot_from(root, cptr, depth as u64, false)
    }

    /// The capability a full 64-bit CPtr reaches in `cs`, as an invocation sees it:
    /// resolution may stop early at a capability that is not a CNode. An empty slot
    /// is FailedLookup(MissingCapability).
    #[inline]
    pub fn lookup_cap(&self, cs: CSpaceId, cptr: CPtr) -> Result<(Slot, Cap)> {
        let root = self.root_of(cs)?;
        self.lookup_cap_from(root, cptr, false)
    }

    #[inline]
    pub(crate) fn lookup_cap_from(
        &self,
        root: u32,
        cptr: CPtr,
        source: bool,
    ) -> Result<(Slot, Cap)> {
        let (slot, left) = self.resolve_from(root, cptr, 64, source)?;
        let c = self.slot_content(slot, source)?;
        if c == NIL {
            return Err(Error::lookup(
                source,
                LookupFault::MissingCapability { bits_left: left },
            ));
        }
        Ok((slot, self.cap_of(c)))
    }

    /// Slot `index` of the CNode that `depth` bits of `path` name in `cs` — the cheap
    /// way to say "fd 7 of this process" (path = the fd CNode's slot in the root).
    pub fn slot_in(&self, cs: CSpaceId, path: CPtr, depth: u8, index: u32) -> Result<Slot> {
        let holder = self.lookup_slot(cs, path, depth)?;
        let cap = self.cap_at(holder).ok_or(Error::lookup(
            false,
            LookupFault::MissingCapability { bits_left: 0 },
        ))?;
        self.slot_of(&cap, index)
    }
}

/// `bits` bits of `word` starting at bit `shift` (0 bits -> 0; no shift overflow).
#[inline]
fn field(word: u64, shift: u32, bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    let shifted = if shift >= 64 { 0 } else { word >> shift };
    if bits >= 64 {
        shifted
    } else {
        shifted & ((1u64 << bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn field_extracts_without_overflow() {
        assert_eq!(field(0xabcd, 4, 8), 0xbc);
        assert_eq!(field(u64::MAX, 0, 64), u64::MAX);
        assert_eq!(field(u64::MAX, 64, 3), 0);
        assert_eq!(field(5, 0, 0), 0);
    }
}
