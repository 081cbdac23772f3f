//! The initial user stack of a new program, laid out as Linux's `execve` does
//! (`fs/exec.c` copies the strings, `create_elf_tables` in `fs/binfmt_elf.c` the rest).
//!
//! From the stack top down:
//!
//! ```text
//! stack_top  -> 8 zero bytes
//!               execfn string (AT_EXECFN points here)
//!               envp strings, envp[0] lowest
//!               argv strings, argv[0] lowest        <- arg_start
//!               (aligned down to 16)
//!               "x86_64\0" (AT_PLATFORM)
//!               16 random bytes (AT_RANDOM)
//!               (padding so that rsp ends 16-byte aligned)
//!               auxv pairs, ending with AT_NULL
//!               envp pointers, NULL
//!               argv pointers, NULL
//! rsp        -> argc
//! ```
//!
//! [`build_initial_stack`] returns the bytes of `[rsp, stack_top)`; the kernel copies
//! them into the new address space and starts the program with that `rsp`. Linux also
//! shifts the stack by a random amount below the strings (`arch_align_stack`); Writ
//! does not randomise yet, so the layout is deterministic.

use crate::abi::auxv::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};
use crate::abi::Errno;
use alloc::vec;
use alloc::vec::Vec;

/// Limit on argument and environment strings plus their pointers. Linux allows a
/// quarter of the stack rlimit (8 MiB by default), i.e. 2 MiB.
pub const ARG_MAX: usize = 2 * 1024 * 1024;
/// Longest single argument or environment string, NUL included (Linux's
/// `MAX_ARG_STRLEN`, 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Most auxv entries a caller may pass (Linux's vector holds fewer than this).
pub const MAX_AUXV: usize = 64;

/// The built stack image and where its parts are, for the process's bookkeeping
/// (`/proc/PID/cmdline` reads `[arg_start, arg_end)`, `environ` `[env_start, env_end)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// The initial stack pointer; 16-byte aligned; `argc` is stored there.
    pub rsp: u64,
    /// The bytes to copy to `[rsp, stack_top)`.
    pub bytes: Vec<u8>,
    /// Address of `argv[0]`'s pointer (`rsp + 8`).
    pub argv: u64,
    /// Address of the envp pointer array.
    pub envp: u64,
    /// Address of the auxiliary vector.
    pub auxv: u64,
    /// First byte of the argument strings.
    pub arg_start: u64,
    /// One past the last argument string's NUL.
    pub arg_end: u64,
    /// First byte of the environment strings.
    pub env_start: u64,
    /// One past the last environment string's NUL.
    pub env_end: u64,
    /// Address of the execfn string (`AT_EXECFN`).
    pub execfn: u64,
    /// Address of the 16 random bytes (`AT_RANDOM`).
    pub random: u64,
    /// Address of the platform string (`AT_PLATFORM`).
    pub platform: u64,
}

/// A byte image growing downwards from `top`, in a buffer sized up front (pushing at
/// the front of a `Vec` would make many small strings quadratic).
struct Image {
    top: u64,
    /// `buf[buf.len() - used..]` is the image so far, i.e. `[top - used, top)`.
    buf: Vec<u8>,
    used: usize,
}

impl Image {
    fn new(top: u64, capacity: usize) -> Image {
        Image {
            top,
            buf: vec![0; capacity],
            used: 0,
        }
    }

    fn cursor(&self) -> u64 {
        self.top - self.used as u64
    }

    /// Puts `data` just below what is there; returns its address. The capacity was
    /// computed as an upper bound, so the slice is always in range.
    fn push(&mut self, data: &[u8]) -> u64 {
        self.used += data.len();
        let start = self.buf.len() - self.used;
        self.buf[start..start + data.len()].copy_from_slice(data);
        self.cursor()
    }

    /// Pads downwards until the cursor is a multiple of `align`.
    fn align_down(&mut self, align: u64) {
        self.used += (self.cursor() % align) as usize;
    }

    fn into_bytes(mut self) -> Vec<u8> {
        let unused = self.buf.len() - self.used;
        self.buf.drain(..unused);
        self.buf
    }
}

/// Builds the stack image for a new program. `auxv` holds the entries the loader knows
/// (AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY, the ids,
/// AT_SECURE, AT_HWCAP, AT_CLKTCK, AT_HWCAP2, AT_MINSIGSTKSZ, ...); this adds
/// AT_RANDOM, AT_EXECFN and AT_PLATFORM, which point into the image, and AT_NULL.
///
/// Errors: E2BIG if one string is longer than [`MAX_ARG_STRLEN`] or all strings and
/// their pointers exceed [`ARG_MAX`]; EINVAL if `stack_top` is not 16-byte aligned,
/// above user space or too low to hold the image, or `auxv` is longer than [`MAX_AUXV`] or contains one of
/// the four keys this function owns.
pub fn build_initial_stack(
    stack_top: u64,
    argv: &[&[u8]],
    envp: &[&[u8]],
    auxv: &[(u64, u64)],
    random16: [u8; 16],
    execfn: &[u8],
    platform: &[u8],
) -> Result<InitialStack, Errno> {
    if stack_top % 16 != 0 || stack_top > crate::uaccess::USER_END {
        return Err(Errno::EINVAL);
    }
    if auxv.len() > MAX_AUXV
        || auxv
            .iter()
            .any(|&(k, _)| matches!(k, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM))
    {
        return Err(Errno::EINVAL);
    }
    let mut strings = 0usize;
    for s in argv.iter().chain(envp).chain(core::iter::once(&execfn)) {
        let len = s.len().saturating_add(1);
        if len > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        strings = strings.saturating_add(len);
    }
    let pointers = (argv.len().saturating_add(envp.len())).saturating_mul(8);
    if strings.saturating_add(pointers) > ARG_MAX {
        return Err(Errno::E2BIG);
    }
    // Upper bound of the image: strings, platform, random bytes, the word arrays and
    // at most three 16-byte alignments. Checked once so the pushes below cannot wrap.
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * (auxv.len() + 4);
    let bound = 8 + strings + platform.len() + 1 + 16 + 8 * words + 48;
    if stack_top < bound as u64 + 4096 {
        return Err(Errno::EINVAL);
    }

    let mut img = Image::new(stack_top, bound);
    img.push(&[0; 8]);
    let execfn_addr = push_cstr(&mut img, execfn);
    let env_end = img.cursor();
    let mut env_ptrs: Vec<u64> = envp.iter().rev().map(|s| push_cstr(&mut img, s)).collect();
    env_ptrs.reverse();
    let env_start = img.cursor();
    let mut arg_ptrs: Vec<u64> = argv.iter().rev().map(|s| push_cstr(&mut img, s)).collect();
    arg_ptrs.reverse();
    let arg_start = img.cursor();

    img.align_down(16);
    let platform_addr = push_cstr(&mut img, platform);
    let random_addr = img.push(&random16);

    let mut aux: Vec<(u64, u64)> = auxv.to_vec();
    aux.push((AT_RANDOM, random_addr));
    aux.push((AT_EXECFN, execfn_addr));
    aux.push((AT_PLATFORM, platform_addr));
    aux.push((AT_NULL, 0));

    // argc + argv + NULL + envp + NULL + auxv pairs, placed so argc lands 16-aligned
    // (Linux's STACK_ROUND).
    let table_words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + 2 * aux.len();
    let table_bytes = 8 * table_words as u64;
    let rsp = (img.cursor() - table_bytes) & !15;
    img.used += (img.cursor() - table_bytes - rsp) as usize;

    let mut table = Vec::with_capacity(table_words * 8);
    let mut word = |w: u64| table.extend_from_slice(&w.to_le_bytes());
    word(arg_ptrs.len() as u64);
    arg_ptrs.iter().for_each(|&p| word(p));
    word(0);
    env_ptrs.iter().for_each(|&p| word(p));
    word(0);
    for &(k, v) in &aux {
        word(k);
        word(v);
    }
    img.push(&table);
    debug_assert_eq!(img.cursor(), rsp);

    let argv_addr = rsp + 8;
    let envp_addr = argv_addr + 8 * (arg_ptrs.len() as u64 + 1);
    let auxv_addr = envp_addr + 8 * (env_ptrs.len() as u64 + 1);
    Ok(InitialStack {
        rsp,
        bytes: img.into_bytes(),
        argv: argv_addr,
        envp: envp_addr,
        auxv: auxv_addr,
        arg_start,
        arg_end: env_start,
        env_start,
        env_end,
        execfn: execfn_addr,
        random: random_addr,
        platform: platform_addr,
    })
}

fn push_cstr(img: &mut Image, s: &[u8]) -> u64 {
    img.push(&[0]);
    img.push(s)
}

/// The auxv entries a loader supplies, in Linux's order; pass [`ExecAuxv::entries`]
/// as the `auxv` argument of [`build_initial_stack`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecAuxv {
    /// Biased address of the program headers (`ElfImage::phdr_vaddr + bias`).
    pub phdr: u64,
    /// Number of program headers.
    pub phnum: u64,
    /// Biased entry point of the program (not of the interpreter).
    pub entry: u64,
    /// Load bias of the interpreter; 0 without one.
    pub base: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    /// Set-uid style exec: libc then ignores LD_* and similar variables.
    pub secure: bool,
    /// CPUID leaf 1 edx.
    pub hwcap: u64,
    /// AT_HWCAP2 bits (0 is fine).
    pub hwcap2: u64,
    /// AT_MINSIGSTKSZ: the signal frame size the kernel needs.
    pub minsigstksz: u64,
}

impl ExecAuxv {
    /// The program-dependent entries for `image` loaded at `bias`, with an interpreter
    /// loaded at `interp_base` (0 without one). Ids, `secure` and the hardware bits are
    /// left for the caller to set.
    pub fn for_image(image: &crate::elf::ElfImage, bias: u64, interp_base: u64) -> ExecAuxv {
        ExecAuxv {
            phdr: image.phdr_vaddr.map_or(0, |p| p.wrapping_add(bias)),
            phnum: u64::from(image.phnum),
            entry: image.entry.wrapping_add(bias),
            base: interp_base,
            ..ExecAuxv::default()
        }
    }

    /// The entries, in the order Linux x86_64 emits them (minus the vDSO's).
    pub fn entries(&self) -> Vec<(u64, u64)> {
        use crate::abi::auxv::*;
        vec![
            (AT_MINSIGSTKSZ, self.minsigstksz),
            (AT_HWCAP, self.hwcap),
            (AT_PAGESZ, PAGE_SIZE),
            (AT_CLKTCK, CLOCK_TICKS),
            (AT_PHDR, self.phdr),
            (AT_PHENT, 56),
            (AT_PHNUM, self.phnum),
            (AT_BASE, self.base),
            (AT_FLAGS, 0),
            (AT_ENTRY, self.entry),
            (AT_UID, u64::from(self.uid)),
            (AT_EUID, u64::from(self.euid)),
            (AT_GID, u64::from(self.gid)),
            (AT_EGID, u64::from(self.egid)),
            (AT_SECURE, u64::from(self.secure)),
            (AT_HWCAP2, self.hwcap2),
        ]
    }
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
