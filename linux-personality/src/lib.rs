//! # linux-personality: the Linux x86_64 ABI for Writ, in safe Rust
//!
//! Writ runs unmodified Linux programs by turning each Linux system call into
//! invocations on the capabilities the calling process holds. This crate is the part of
//! that translation which needs no privilege and no `unsafe`: it is `no_std` + `alloc`,
//! `forbid(unsafe_code)`, and tested on the host with `cargo test`.
//!
//! ## The parts and how they fit
//!
//! - [`abi`] — the ABI as data: [`abi::errno::Errno`] (every Linux errno, with names for
//!   logs and contract tests), [`abi::nr`] (syscall numbers and
//!   [`abi::nr::syscall_name`] for "unimplemented syscall N (name)"), [`abi::auxv`]
//!   (auxiliary-vector keys) and [`abi::structs`] (the exact byte layouts of `stat`,
//!   `statx`, `timespec`, the kernel `sigaction`, `linux_dirent64`, ...).
//! - [`uaccess`] — the one road to user memory. The kernel implements
//!   [`uaccess::UserMemory`] (copy in, copy out, EFAULT on any bad address); syscall
//!   code only holds [`uaccess::UserPtr`] / [`uaccess::UserSlice`] values, which are
//!   addresses until copied through that trait, as Hubris' `USlice` is.
//!   [`uaccess::FakeUserMemory`] stands in for the kernel in tests.
//! - [`elf`] — validates an ELF64 x86_64 executable from its bytes and describes what
//!   to map ([`elf::ElfImage`]) and where ([`elf::load_bias`]); it never panics on any
//!   input.
//! - [`stack`] — lays out the initial user stack for `execve` (argc, argv, envp, auxv,
//!   strings, AT_RANDOM bytes) exactly as Linux does, as a byte image for the kernel to
//!   copy below the stack top.
//!
//! `execve` in the kernel is then: read the file, [`elf::parse`], map the segments at
//! [`elf::load_bias`], [`stack::build_initial_stack`] with the auxv values the load
//! produced, copy the image in, jump to the entry with `rsp` set.
//!
//! ```
//! use linux_personality::abi::auxv::PLATFORM;
//! use linux_personality::elf::{self, LoadRole};
//! use linux_personality::stack::{build_initial_stack, ExecAuxv};
//! use linux_personality::stack::ARG_MAX;
//! use linux_personality::uaccess::{read_cstring, read_exec_strings, UserMemory, PATH_MAX};
//! use linux_personality::Errno;
//!
//! /// The shape of the kernel's execve. For brevity `mem` is both the caller's address
//! /// space (where the arguments are) and the new one.
//! fn exec(mem: &mut impl UserMemory, file: &[u8], args: [u64; 3]) -> Result<u64, Errno> {
//!     let path = read_cstring(mem, args[0], PATH_MAX)?; // EFAULT, ENAMETOOLONG
//!     let mut budget = ARG_MAX;
//!     let argv = read_exec_strings(mem, args[1], &mut budget)?; // EFAULT, E2BIG
//!     let envp = read_exec_strings(mem, args[2], &mut budget)?;
//!     let image = elf::parse(file)?; // ENOEXEC, EINVAL
//!     let bias = elf::load_bias(&image, LoadRole::Main);
//!     image.biased_span(bias)?;
//!     for segment in &image.segments {
//!         let _plan = segment.mapping(bias)?; // the kernel maps file pages and zero pages
//!     }
//!     let auxv = ExecAuxv::for_image(&image, bias, 0).entries();
//!     let top = 0x7fff_ffff_e000;
//!     let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
//!     let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
//!     let stack = build_initial_stack(top, &argv, &envp, &auxv, [0; 16], &path, PLATFORM)?;
//!     mem.write(stack.rsp, &stack.bytes)?;
//!     Ok(stack.rsp)
//! }
//! ```
//!
//! Next to come on top of these: the syscall dispatcher (one `match` on
//! [`abi::nr`] numbers, ENOSYS and a one-time log for the rest) and the fd layer where
//! every file descriptor is a capability in the process's fd CNode.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod abi;
pub mod elf;
pub mod events;
pub mod fd;
pub mod file;
pub mod fs;
pub mod locks;
pub mod net;
pub mod pipe;
pub mod pty;
pub mod rtc;
pub mod script;
pub mod signal;
pub mod stack;
pub mod syscall;
pub mod tty;
pub mod uaccess;

pub use abi::errno::{Errno, SysResult};

#[cfg(test)]
mod fd_tests;
#[cfg(test)]
mod test_support;

#[cfg(test)]
mod exec_tests;
