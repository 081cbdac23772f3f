//! Starting programs: load an ELF executable (static, static-PIE, or dynamic with its
//! interpreter) from the initramfs into a fresh address space, lay out the initial
//! stack as Linux does, and start its first thread.
//!
//! Parsing, placement policy and the stack layout are the personality's
//! (`linux_personality::{elf, stack}`, host-tested); this module only maps memory.

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_personality::abi::auxv::*;
use linux_personality::elf::{self, ElfImage, ElfKind, LoadRole};
use linux_personality::script;
use linux_personality::Errno;

use crate::mm::vm::{AddressSpace, Prot};
use crate::mm::{phys_to_virt, PAGE_SIZE};
use crate::process::{self, Mm, Process};
use linux_personality::fs::{Creds, FsContext};

/// Top of the initial stack; the stack grows down from here.
pub const STACK_TOP: u64 = 0x7fff_ffff_e000;
/// Stack mapped up front; below it the stack grows on demand (page faults) down to
/// [`STACK_LIMIT`], Linux's default 8 MiB RLIMIT_STACK.
const STACK_PREMAPPED: u64 = 128 << 10;
pub const STACK_LIMIT: u64 = 8 << 20;

fn vm_err(_: crate::mm::vm::VmError) -> Errno {
    Errno::ENOMEM
}

fn read_program(ctx: &FsContext, creds: &Creds, path: &[u8]) -> Result<Vec<u8>, Errno> {
    crate::vfs::read_file(ctx, creds, path, true)
}

/// Maps every PT_LOAD of `img` (file bytes `file`) at `bias`; returns the end of the
/// highest segment (where the program break starts).
fn map_image(
    aspace: &mut AddressSpace,
    img: &ElfImage,
    file: &[u8],
    bias: u64,
) -> Result<u64, Errno> {
    let mut end = 0;
    for seg in &img.segments {
        let start = (seg.vaddr + bias) & !(PAGE_SIZE - 1);
        let stop = (seg.vaddr + bias + seg.memsz).next_multiple_of(PAGE_SIZE);
        let prot = Prot {
            read: true,
            write: seg.flags.write,
            exec: seg.flags.exec,
        };
        let mut va = start;
        while va < stop {
            // Two segments may share a page (end of text, start of data): reuse it and
            // widen its protection rather than fail.
            let phys = match aspace.translate(va) {
                Some(t) => {
                    let widened = Prot {
                        read: true,
                        write: prot.write || t.writable,
                        exec: true,
                    };
                    aspace.protect(va, widened);
                    t.phys & !(PAGE_SIZE - 1)
                }
                None => aspace.map_zeroed(va, prot).map_err(vm_err)?,
            };
            // Copy the part of the file that falls in this page.
            let seg_file_start = seg.vaddr + bias;
            let seg_file_end = seg_file_start + seg.filesz;
            let lo = va.max(seg_file_start);
            let hi = (va + PAGE_SIZE).min(seg_file_end);
            if lo < hi {
                let off = (seg.file_offset + (lo - seg_file_start)) as usize;
                let src = file
                    .get(off..off + (hi - lo) as usize)
                    .ok_or(Errno::ENOEXEC)?;
                // SAFETY: `phys` is a frame of this address space, reached through the
                // direct map; the copy stays inside the page (lo..hi within va's page).
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr(),
                        (phys_to_virt(phys) + (lo - va)) as *mut u8,
                        src.len(),
                    )
                };
            }
            va += PAGE_SIZE;
        }
        end = end.max(stop);
    }
    Ok(end)
}

/// A program loaded into a fresh address space, ready to enter.
pub struct Loaded {
    pub mm: Mm,
    pub entry: u64,
    pub rsp: u64,
    /// The executable that runs: the last interpreter for a `#!` script (what
    /// /proc/PID/exe names), else the path itself.
    pub program: Vec<u8>,
    /// A script's rewritten argument vector (what /proc/PID/cmdline shows).
    pub script_argv: Option<Vec<Vec<u8>>>,
}

/// Loads `path` with `argv` and `envp` into a new address space (execve's work up to
/// the point of no return: the caller's memory is untouched until it installs this).
///
/// A `#!` script runs its interpreter with the rewritten arguments
/// (`linux_personality::script`); AT_EXECFN still names the file the caller asked for,
/// as on Linux.
pub fn load(
    ctx: &FsContext,
    creds: &Creds,
    path: &str,
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<Loaded, Errno> {
    let mut file = read_program(ctx, creds, path.as_bytes())?;
    let mut args: Option<Vec<Vec<u8>>> = None;
    let mut depth = 0;
    let mut program = path.as_bytes().to_vec();
    while let Some(sb) = script::parse(&file)? {
        depth += 1;
        if depth > script::MAX_DEPTH {
            return Err(Errno::ELOOP);
        }
        let current: Vec<Vec<u8>> = match args.take() {
            Some(a) => a,
            None => argv.iter().map(|a| a.to_vec()).collect(),
        };
        let name = current.first().cloned();
        // The script's own name as the caller gave it: the original path for the
        // first script, the interpreter's path for a script run as an interpreter.
        let script_path = if depth == 1 {
            path.as_bytes().to_vec()
        } else {
            name.unwrap_or_default()
        };
        let next = read_program(ctx, creds, sb.interp)?;
        args = Some(script::rewrite_argv(&sb, &script_path, &current));
        program = sb.interp.to_vec();
        file = next;
    }
    let rewritten: Option<Vec<&[u8]>> =
        args.as_ref().map(|a| a.iter().map(Vec::as_slice).collect());
    let argv = rewritten.as_deref().unwrap_or(argv);
    let file = &file[..];
    let img = elf::parse(file)?;
    let mut aspace = AddressSpace::new().map_err(vm_err)?;
    let bias = elf::load_bias(&img, LoadRole::Main);
    let brk = map_image(&mut aspace, &img, file, bias)?;

    let (entry, interp_base) = match &img.kind {
        ElfKind::Static | ElfKind::StaticPie => (img.entry + bias, 0),
        ElfKind::Dynamic { interp } => {
            let interp_file = read_program(ctx, creds, interp.as_bytes())?;
            let interp_file = &interp_file[..];
            let interp_img = elf::parse(interp_file)?;
            if !matches!(interp_img.kind, ElfKind::StaticPie | ElfKind::Static) {
                return Err(Errno::ELIBBAD);
            }
            let ibias = elf::load_bias(&interp_img, LoadRole::Interpreter);
            map_image(&mut aspace, &interp_img, interp_file, ibias)?;
            (interp_img.entry + ibias, ibias)
        }
    };

    let rw = Prot::RW;
    let mut va = STACK_TOP - STACK_PREMAPPED;
    while va < STACK_TOP {
        aspace.map_zeroed(va, rw).map_err(vm_err)?;
        va += PAGE_SIZE;
    }
    let phdr = img.phdr_vaddr.map_or(0, |p| p + bias);
    let auxv: Vec<(u64, u64)> = alloc::vec![
        (AT_PHDR, phdr),
        (AT_PHENT, u64::from(img.phentsize)),
        (AT_PHNUM, u64::from(img.phnum)),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_BASE, interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, img.entry + bias),
        (AT_UID, u64::from(creds.uid)),
        (AT_EUID, u64::from(creds.euid)),
        (AT_GID, u64::from(creds.gid)),
        (AT_EGID, u64::from(creds.egid)),
        (
            AT_SECURE,
            u64::from(creds.uid != creds.euid || creds.gid != creds.egid)
        ),
        (AT_HWCAP, u64::from(core::arch::x86_64::__cpuid(1).edx)),
        (AT_CLKTCK, 100),
        (AT_HWCAP2, 0),
        (AT_MINSIGSTKSZ, 2048),
    ];
    let stack = linux_personality::stack::build_initial_stack(
        STACK_TOP,
        argv,
        envp,
        &auxv,
        {
            let mut r = [0u8; 16];
            crate::random::fill(&mut r);
            r
        },
        path.as_bytes(),
        b"x86_64",
    )?;
    if STACK_TOP - stack.rsp > STACK_PREMAPPED {
        return Err(Errno::E2BIG);
    }
    crate::uaccess::copy_to_user(&mut aspace, stack.rsp, &stack.bytes)
        .map_err(|_| Errno::EFAULT)?;
    Ok(Loaded {
        mm: Mm {
            aspace,
            brk_start: brk,
            brk,
            mmap_top: process::MMAP_TOP,
        },
        entry,
        rsp: stack.rsp,
        program,
        script_argv: args,
    })
}

/// The command name Linux records for `path` (its last component).
pub fn comm(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Loads `path` and starts it as a new process whose parent is the kernel.
pub fn spawn(path: &str, argv: &[&[u8]], envp: &[&[u8]]) -> Result<Arc<Process>, Errno> {
    let ctx = crate::vfs::initial_context();
    let loaded = load(&ctx, &Creds::root(), path, argv, envp)?;
    let files = process::console_files()?;
    let exe = linux_personality::fs::proc::exe_path(&ctx, &Creds::root(), &loaded.program);
    let proc = Process::new(comm(path), 0, loaded.mm, files, ctx);
    crate::vfs::procsrc::record_exec(proc.pid, exe, argv, envp);
    process::start(&proc, loaded.entry, loaded.rsp);
    Ok(proc)
}
