//! The Linux x86_64 ABI as data: errno values, syscall numbers, auxiliary-vector keys and
//! the struct layouts early syscalls copy to and from user memory.
//!
//! Nothing here has behaviour beyond encoding; the syscall implementations use these
//! types so that every number and byte offset is written down exactly once.

pub mod auxv;
pub mod errno;
pub mod nr;
pub mod structs;

pub use errno::{Errno, SysResult};
