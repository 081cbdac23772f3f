//! Per-object rights of a NetStack capability, and who is asking.
//!
//! The caps crate owns the generic rights (READ, WRITE, GRANT, DUP) in the low bits of a
//! capability's rights word; the NetStack-specific rights live from bit 32 upward so both
//! fit one word without clashing. Every `NetStack::create_*` and `configure` takes the
//! caller's [`Caller`] and checks the right it needs before doing anything, so a process
//! whose NetStack capability was derived without RAW gets EPERM for a raw socket exactly
//! as an unprivileged Linux process does.

use bitflags::bitflags;

use crate::error::NetError;

bitflags! {
    /// Rights on a NetStack capability (bits 32..40).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NetRights: u64 {
        /// Create TCP endpoints and connect them.
        const TCP_CONNECT = 1 << 32;
        /// Create TCP endpoints and listen on them.
        const TCP_LISTEN = 1 << 33;
        /// Create UDP endpoints.
        const UDP = 1 << 34;
        /// Create ICMP echo (ping) endpoints.
        const ICMP_ECHO = 1 << 35;
        /// Create raw ICMP endpoints (root's ping).
        const RAW = 1 << 36;
        /// Create packet (AF_PACKET) endpoints (DHCP clients).
        const PACKET = 1 << 37;
        /// Bind ports below 1024.
        const BIND_PRIVILEGED = 1 << 38;
        /// Change addresses and routes.
        const CONFIGURE = 1 << 39;
    }
}

impl NetRights {
    /// What an unprivileged Linux user can do: everything but raw, packet, privileged
    /// ports and configuration.
    pub const UNPRIVILEGED: NetRights = NetRights::TCP_CONNECT
        .union(NetRights::TCP_LISTEN)
        .union(NetRights::UDP)
        .union(NetRights::ICMP_ECHO);

    /// Fail with `err` unless every right in `needed` is held.
    pub(crate) fn require(self, needed: NetRights, err: NetError) -> Result<(), NetError> {
        if self.contains(needed) {
            Ok(())
        } else {
            Err(err)
        }
    }
}

/// The authority an operation is performed with: the rights of the caller's NetStack
/// capability and the identity of that capability (its origin), so that revoking it can
/// kill exactly the endpoints created through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Rights of the NetStack capability invoked.
    pub rights: NetRights,
    /// Identity of the capability (e.g. its derivation-tree node); see `NetStack::revoke`.
    pub origin: u64,
}

impl Caller {
    /// A caller holding every NetStack right (root), with origin 0.
    pub const fn root() -> Caller {
        Caller {
            rights: NetRights::all(),
            origin: 0,
        }
    }

    /// A caller with the given rights and origin 0.
    pub const fn with_rights(rights: NetRights) -> Caller {
        Caller { rights, origin: 0 }
    }
}
