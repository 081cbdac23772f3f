//! Auxiliary-vector keys (`include/uapi/linux/auxvec.h` and the x86 additions).
//!
//! The ELF loader supplies the values; [`crate::stack::build_initial_stack`] writes the
//! vector onto the new process's stack and fills in the entries that point into the
//! stack itself ([`AT_RANDOM`], [`AT_EXECFN`], [`AT_PLATFORM`]).

/// End of the vector.
pub const AT_NULL: u64 = 0;
/// Entry should be ignored.
pub const AT_IGNORE: u64 = 1;
/// File descriptor of the program (unused by Writ).
pub const AT_EXECFD: u64 = 2;
/// Address of the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// Size of one program header (56 on ELF64).
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// Page size (4096).
pub const AT_PAGESZ: u64 = 6;
/// Load address of the interpreter (0 for static programs).
pub const AT_BASE: u64 = 7;
/// Flags (0).
pub const AT_FLAGS: u64 = 8;
/// The program's entry point (after the load bias).
pub const AT_ENTRY: u64 = 9;
/// Real uid.
pub const AT_UID: u64 = 11;
/// Effective uid.
pub const AT_EUID: u64 = 12;
/// Real gid.
pub const AT_GID: u64 = 13;
/// Effective gid.
pub const AT_EGID: u64 = 14;
/// Address of the platform string ("x86_64").
pub const AT_PLATFORM: u64 = 15;
/// CPUID feature bits (edx of leaf 1).
pub const AT_HWCAP: u64 = 16;
/// Clock ticks per second for `times()` (100).
pub const AT_CLKTCK: u64 = 17;
/// Non-zero for set-uid style exec; tells libc to ignore dangerous env variables.
pub const AT_SECURE: u64 = 23;
/// Address of the base platform string (unused on x86).
pub const AT_BASE_PLATFORM: u64 = 24;
/// Address of 16 random bytes (libc seeds its stack canary and pointer guard from them).
pub const AT_RANDOM: u64 = 25;
/// More hardware capability bits (x86: ring-3 MONITOR/MWAIT, FSGSBASE).
pub const AT_HWCAP2: u64 = 26;
/// Address of the pathname that was executed.
pub const AT_EXECFN: u64 = 31;
/// Address of the vDSO's ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// Minimal stack size for signal delivery.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// Page size the personality reports and the ELF loader assumes.
pub const PAGE_SIZE: u64 = 4096;
/// `sysconf(_SC_CLK_TCK)` on Linux x86_64.
pub const CLOCK_TICKS: u64 = 100;
/// The AT_PLATFORM string Linux x86_64 reports.
pub const PLATFORM: &[u8] = b"x86_64";
