//! The invocation ABI: `invoke(cspace, cptr, label, words, extra_caps)`.
//!
//! The kernel's syscall layer calls [`CapSystem::invoke`] with what a user program
//! passed: the CPtr of the capability to invoke, a label (the operation, numbered per
//! object type), argument words and up to [`MAX_EXTRA_CAPS`] CPtrs of extra
//! capabilities. All CPtrs resolve in the caller's CSpace over the full 64 bits.
//! The call returns a [`Reply`] (label and up to [`MAX_REPLY_WORDS`] words) or an
//! [`Error`] whose code and detail words go back to the program.
//!
//! Dispatch is by the invoked object's type: CNode ([`crate::cnode`]), Budget
//! ([`crate::budget`]), or an outside [`crate::ObjectType`]; each decodes completely
//! before it performs.

use crate::error::{Error, Result};
use crate::lookup::CPtr;
use crate::object::Body;
use crate::rights::Rights;
use crate::system::{CSpaceId, Cap, CapSystem, Slot, NIL};

/// Most extra capabilities one invocation carries (seL4_MsgMaxExtraCaps).
pub const MAX_EXTRA_CAPS: usize = 3;
/// Most words in a reply.
pub const MAX_REPLY_WORDS: usize = 6;

/// A capability named by an invocation, with the slot it was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtraCap {
    pub slot: Slot,
    pub cap: Cap,
}

impl ExtraCap {
    const NONE: ExtraCap = ExtraCap {
        slot: Slot {
            holder: crate::system::Holder::Root(NIL),
            index: 0,
        },
        cap: Cap {
            oid: 0,
            rights: Rights::empty(),
            badge: 0,
            obj: NIL,
        },
    };
}

/// One invocation, as decode sees it.
#[derive(Clone, Copy, Debug)]
pub struct Invocation<'a> {
    /// The caller's CSpace.
    pub cspace: CSpaceId,
    /// The invoked capability.
    pub target: ExtraCap,
    pub label: u64,
    pub words: &'a [u64],
    pub caps: &'a [ExtraCap],
}

impl Invocation<'_> {
    /// Argument word `i`, or TruncatedMessage.
    #[inline]
    pub fn word(&self, i: usize) -> Result<u64> {
        self.words.get(i).copied().ok_or(Error::TruncatedMessage)
    }

    /// Extra capability `i`, or TruncatedMessage.
    #[inline]
    pub fn extra(&self, i: usize) -> Result<&ExtraCap> {
        self.caps.get(i).ok_or(Error::TruncatedMessage)
    }

    /// Fail with InsufficientRights unless the invoked capability has `rights`.
    #[inline]
    pub fn require(&self, rights: Rights) -> Result<()> {
        require(&self.target.cap, rights)
    }
}

/// Fail with InsufficientRights unless `cap` has `rights`.
#[inline]
pub fn require(cap: &Cap, rights: Rights) -> Result<()> {
    let missing = rights - cap.rights;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::InsufficientRights {
            missing: missing.bits(),
        })
    }
}

/// A successful invocation's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Reply {
    pub label: u64,
    len: u8,
    words: [u64; MAX_REPLY_WORDS],
}

impl Reply {
    pub const fn empty() -> Reply {
        Reply {
            label: 0,
            len: 0,
            words: [0; MAX_REPLY_WORDS],
        }
    }

    /// A reply carrying `words` (at most MAX_REPLY_WORDS are kept; an object type
    /// that needs more returns them through memory, not here).
    pub fn with_words(words: &[u64]) -> Reply {
        let mut r = Reply::empty();
        let n = words.len().min(MAX_REPLY_WORDS);
        r.words[..n].copy_from_slice(&words[..n]);
        r.len = n as u8;
        r
    }

    pub fn words(&self) -> &[u64] {
        &self.words[..self.len as usize]
    }
}

impl CapSystem {
    /// Invoke the capability at `cptr` in CSpace `cs`. See the module doc.
    #[inline]
    pub fn invoke(
        &mut self,
        cs: CSpaceId,
        cptr: CPtr,
        label: u64,
        words: &[u64],
        extra: &[CPtr],
    ) -> Result<Reply> {
        if extra.len() > MAX_EXTRA_CAPS {
            return Err(Error::RangeError {
                min: 0,
                max: MAX_EXTRA_CAPS as u64,
            });
        }
        let root = self.root_of(cs)?;
        let (slot, cap) = self.lookup_cap_from(root, cptr, false)?;
        let mut caps = [ExtraCap::NONE; MAX_EXTRA_CAPS];
        for (i, &p) in extra.iter().enumerate() {
            let (slot, cap) = self.lookup_cap_from(root, p, true)?;
            caps[i] = ExtraCap { slot, cap };
        }
        let inv = Invocation {
            cspace: cs,
            target: ExtraCap { slot, cap },
            label,
            words,
            caps: &caps[..extra.len()],
        };
        self.dispatch(&inv)
    }

    #[inline]
    fn dispatch(&mut self, inv: &Invocation<'_>) -> Result<Reply> {
        match self.obj(inv.target.cap.obj).map(|e| &e.body) {
            Some(Body::CNode(_)) => crate::cnode::invoke(self, inv),
            Some(Body::Budget(_)) => crate::budget::invoke(self, inv),
            Some(Body::Ext(o)) => {
                // The object stays alive across perform even if perform deletes caps.
                let o = o.clone();
                o.invoke(self, inv)
            }
            None => Err(Error::InvalidCapability { index: u8::MAX }),
        }
    }
}
