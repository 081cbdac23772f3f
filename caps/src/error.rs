//! Errors of the invocation ABI, seL4's kinds plus detail words.
//!
//! Every failure a caller can cause is one of these; nothing in this crate panics on
//! caller input. [`Error::code`] and [`Error::detail`] are what a user-visible syscall
//! returns (seL4 puts the same information in the IPC buffer's message registers).

/// Why a CPtr did not resolve (seL4's lookup faults, `src/kernel/cspace.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LookupFault {
    /// The CSpace root is not a CNode capability (or the CSpace has no root).
    InvalidRoot,
    /// The addressed slot is empty; `bits_left` is the depth still to resolve there.
    MissingCapability { bits_left: u8 },
    /// The address ran out of bits (`bits_left`) inside a level that needed
    /// `bits_found` bits, or (with `bits_found == 0`) `bits_left` bits were left over
    /// after reaching a capability that is not a CNode.
    DepthMismatch { bits_found: u8, bits_left: u8 },
    /// The CPtr's bits at this level do not match the CNode's guard.
    GuardMismatch {
        bits_left: u8,
        guard_found: u64,
        guard_size: u8,
    },
}

/// An invocation or capability-operation error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Argument word `index` is not acceptable.
    InvalidArgument { index: u8 },
    /// Extra capability `index` (or the invoked one, `index == u8::MAX`) has the wrong
    /// type or is otherwise unusable for this operation.
    InvalidCapability { index: u8 },
    /// The object type has no such operation (unknown label).
    IllegalOperation,
    /// A numeric argument is outside `min..=max`.
    RangeError { min: u64, max: u64 },
    /// A CPtr did not resolve; `source` tells which address of a two-address operation
    /// failed (seL4's failedLookupWasSource).
    FailedLookup { source: bool, fault: LookupFault },
    /// The destination slot is occupied.
    DeleteFirst,
    /// The operation needs the capability to have no derived children (or the object no
    /// other state) first.
    RevokeFirst,
    /// The budget cannot cover `needed` bytes; `available` are left.
    NotEnoughMemory { needed: u64, available: u64 },
    /// Fewer argument words or extra capabilities than the operation needs.
    TruncatedMessage,
    /// Writ's addition (Zircon's ACCESS_DENIED): the capability lacks `missing` rights.
    /// seL4 folds this into other kinds; the Linux personality needs it apart to answer
    /// EPERM/EACCES rather than EINVAL.
    InsufficientRights { missing: u64 },
}

impl Error {
    /// The error number carried in the syscall return value (seL4's numbering where
    /// seL4 has the kind; 11 is Writ's InsufficientRights).
    pub fn code(&self) -> u64 {
        match self {
            Error::InvalidArgument { .. } => 1,
            Error::InvalidCapability { .. } => 2,
            Error::IllegalOperation => 3,
            Error::RangeError { .. } => 4,
            Error::FailedLookup { .. } => 6,
            Error::TruncatedMessage => 7,
            Error::DeleteFirst => 8,
            Error::RevokeFirst => 9,
            Error::NotEnoughMemory { .. } => 10,
            Error::InsufficientRights { .. } => 11,
        }
    }

    /// Detail words: what a user program reads back after the error code.
    pub fn detail(&self) -> [u64; 4] {
        match *self {
            Error::InvalidArgument { index } | Error::InvalidCapability { index } => {
                [index as u64, 0, 0, 0]
            }
            Error::RangeError { min, max } => [min, max, 0, 0],
            Error::NotEnoughMemory { needed, available } => [needed, available, 0, 0],
            Error::InsufficientRights { missing } => [missing, 0, 0, 0],
            Error::FailedLookup { source, fault } => {
                let (kind, a, b) = match fault {
                    LookupFault::InvalidRoot => (1, 0, 0),
                    LookupFault::MissingCapability { bits_left } => (2, bits_left as u64, 0),
                    LookupFault::DepthMismatch {
                        bits_found,
                        bits_left,
                    } => (3, bits_left as u64, bits_found as u64),
                    LookupFault::GuardMismatch {
                        bits_left,
                        guard_found,
                        guard_size,
                    } => (4, bits_left as u64 | (guard_size as u64) << 8, guard_found),
                };
                [source as u64, kind, a, b]
            }
            Error::IllegalOperation
            | Error::DeleteFirst
            | Error::RevokeFirst
            | Error::TruncatedMessage => [0; 4],
        }
    }

    pub(crate) fn lookup(source: bool, fault: LookupFault) -> Error {
        Error::FailedLookup { source, fault }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
