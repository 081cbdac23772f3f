//! Rights carried by a capability.
//!
//! The low 32 bits are generic rights that mean the same thing on every object type;
//! the high 32 bits belong to the object type, which names them through
//! [`crate::ObjectType::RIGHT_NAMES`] (netobj declares TCP_CONNECT, RAW, ... for its
//! NetStack this way). A derived capability's rights are always a subset of its
//! parent's; asking for more is an error, never silently masked (Zircon's rule).

use core::fmt;

bitflags::bitflags! {
    /// A set of rights. Generic rights live in bits 0..32, per-type rights in 32..64.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
    pub struct Rights: u64 {
        /// Read the object (for CNodes: act as the source root of a copy).
        const READ = 1 << 0;
        /// Change the object (for CNodes: change its slots).
        const WRITE = 1 << 1;
        /// Pass capabilities through the object (reserved for IPC endpoints).
        const GRANT = 1 << 2;
        /// Duplicate this capability with Copy or Mint.
        const DUP = 1 << 3;
        // Per-type rights are any of the high bits; keep them when converting.
        const _ = !0;
    }
}

impl Rights {
    /// The generic rights together.
    pub const GENERIC: Rights = Rights::from_bits_retain(0xf);
    /// Every right, generic and per-type: what an object's first capability carries.
    pub const ALL: Rights = Rights::from_bits_retain(0xffff_ffff_0000_000f);

    /// The `n`th per-type right (n < 32), for an object type to declare its own rights.
    pub const fn type_right(n: u32) -> Rights {
        Rights::from_bits_retain(1u64 << (32 + (n & 31)))
    }

    /// Display these rights, naming the per-type ones with `names`.
    pub fn display(self, names: &'static [(&'static str, Rights)]) -> RightsDisplay {
        RightsDisplay {
            rights: self,
            names,
        }
    }
}

/// Text form of a rights set: generic rights as letters (`RWGD`, `-` when absent),
/// then the per-type rights by name (`+TCP_CONNECT+RAW`), unnamed ones as `+bitN`.
pub struct RightsDisplay {
    rights: Rights,
    names: &'static [(&'static str, Rights)],
}

impl fmt::Display for RightsDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.rights;
        for (flag, letter) in [
            (Rights::READ, "R"),
            (Rights::WRITE, "W"),
            (Rights::GRANT, "G"),
            (Rights::DUP, "D"),
        ] {
            f.write_str(if r.contains(flag) { letter } else { "-" })?;
        }
        let high = r.bits() >> 32;
        if high == u32::MAX as u64 {
            // Every per-type right: what an object's first capability holds.
            f.write_str("+*")?;
        } else {
            let mut named = 0u64;
            for (name, bit) in self.names {
                if r.contains(*bit) && (bit.bits() >> 32) != 0 {
                    write!(f, "+{name}")?;
                    named |= bit.bits() >> 32;
                }
            }
            let unnamed = high & !named;
            for n in 0..32 {
                if unnamed & (1 << n) != 0 {
                    write!(f, "+bit{}", n + 32)?;
                }
            }
        }
        // Bits 4..32 are not defined; show them rather than hide them.
        let odd = r.bits() & 0xffff_fff0;
        if odd != 0 {
            write!(f, "+low{odd:#x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const NAMES: &[(&str, Rights)] = &[("RAW", Rights::type_right(4))];

    #[test]
    fn display_names_generic_and_type_rights() {
        let r = Rights::READ | Rights::DUP | Rights::type_right(4) | Rights::type_right(5);
        assert_eq!(r.display(NAMES).to_string(), "R--D+RAW+bit37");
        assert_eq!(Rights::ALL.display(&[]).to_string(), "RWGD+*");
        assert_eq!(Rights::empty().display(NAMES).to_string(), "----");
    }

    #[test]
    fn type_rights_are_high_bits() {
        assert_eq!(Rights::type_right(0).bits(), 1 << 32);
        assert!(!Rights::GENERIC.intersects(Rights::type_right(31)));
    }
}
