//! The pieces together, as the kernel's `execve` will use them: parse an executable,
//! place it, copy its segments into a (fake) address space, build the initial stack,
//! then read everything back through [`UserMemory`] the way the program's start code
//! would, and check that AT_PHDR, AT_ENTRY, AT_RANDOM and the strings are right.

use crate::abi::auxv::*;
use crate::abi::Errno;
use crate::elf::{self, ElfImage, LoadRole};
use crate::stack::{build_initial_stack, ExecAuxv};
use crate::uaccess::*;
use std::vec;
use std::vec::Vec;

const STACK_TOP: u64 = 0x7fff_ffff_e000;
const STACK_SIZE: u64 = 64 * 1024;

/// Copies each segment as its [`elf::SegmentMapping`] says, then applies permissions.
fn load_into(mem: &mut FakeUserMemory, file: &[u8], img: &ElfImage, bias: u64) {
    for seg in &img.segments {
        let m = seg.mapping(bias).unwrap();
        mem.map(m.start, m.end - m.start, Prot::READ_WRITE).unwrap();
        let off = m.file_page_offset as usize;
        let want = (m.file_end - m.start) as usize;
        let avail = file.len().saturating_sub(off).min(want);
        mem.poke(m.start, &file[off..off + avail]).unwrap();
        let zero = vec![0u8; (m.file_end - m.zero_start) as usize];
        mem.poke(m.zero_start, &zero).unwrap();
    }
    for seg in &img.segments {
        let m = seg.mapping(bias).unwrap();
        let prot = match (seg.flags.read, seg.flags.write) {
            (_, true) => Prot::READ_WRITE,
            (true, false) => Prot::READ,
            (false, false) => Prot::NONE,
        };
        mem.protect(m.start, m.end - m.start, prot).unwrap();
    }
}

/// File offset holding virtual address `vaddr` (unbiased), if a segment maps it.
fn file_offset_of(img: &ElfImage, vaddr: u64) -> Option<usize> {
    img.segments
        .iter()
        .find(|s| vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
        .map(|s| (vaddr - s.vaddr + s.file_offset) as usize)
}

fn exec_and_check(file: &[u8], role_bias: Option<u64>) {
    let img = elf::parse(file).unwrap();
    let bias = role_bias.unwrap_or_else(|| elf::load_bias(&img, LoadRole::Main));
    img.biased_span(bias).unwrap();
    let mut mem = FakeUserMemory::new();
    load_into(&mut mem, file, &img, bias);

    let auxv = ExecAuxv {
        uid: 0,
        hwcap: 0x178b_fbff,
        minsigstksz: 2048,
        ..ExecAuxv::for_image(&img, bias, 0)
    };
    let argv: [&[u8]; 2] = [b"/bin/prog", b"arg"];
    let envp: [&[u8]; 1] = [b"HOME=/"];
    let random = *b"sixteen  bytes!!";
    let st = build_initial_stack(
        STACK_TOP,
        &argv,
        &envp,
        &auxv.entries(),
        random,
        b"/bin/prog",
        PLATFORM,
    )
    .unwrap();
    mem.map(STACK_TOP - STACK_SIZE, STACK_SIZE, Prot::READ_WRITE)
        .unwrap();
    mem.write(st.rsp, &st.bytes).unwrap();

    // What `_start` sees.
    let argc: u64 = read_struct(&mem, st.rsp).unwrap();
    assert_eq!(argc, 2);
    let arg_ptrs = read_ptr_array(&mem, st.rsp + 8, 16).unwrap();
    let args: Vec<Vec<u8>> = arg_ptrs
        .iter()
        .map(|&p| read_cstring(&mem, p, PATH_MAX).unwrap())
        .collect();
    assert_eq!(args, [b"/bin/prog".to_vec(), b"arg".to_vec()]);
    let env_at = st.rsp + 8 * (argc + 2);
    let env_ptrs = read_ptr_array(&mem, env_at, 16).unwrap();
    assert_eq!(read_cstring(&mem, env_ptrs[0], 64).unwrap(), b"HOME=/");
    let mut at = env_at + 8 * (env_ptrs.len() as u64 + 1);
    let mut aux = Vec::new();
    loop {
        let pair: [u64; 2] = read_struct(&mem, at).unwrap();
        at += 16;
        if pair[0] == AT_NULL {
            break;
        }
        aux.push((pair[0], pair[1]));
    }
    let get = |k: u64| aux.iter().find(|p| p.0 == k).map(|p| p.1).unwrap();

    // AT_PHDR points at the program headers, as loaded.
    let phoff = u64::from_le_bytes(file[32..40].try_into().unwrap()) as usize;
    let table = 56 * img.phnum as usize;
    let mut loaded = vec![0u8; table];
    mem.read(get(AT_PHDR), &mut loaded).unwrap();
    assert_eq!(loaded, &file[phoff..phoff + table]);
    assert_eq!(get(AT_PHNUM), u64::from(img.phnum));
    assert_eq!(get(AT_PHENT), 56);

    // AT_ENTRY points at the entry code, as loaded.
    let entry_off = file_offset_of(&img, img.entry).expect("entry is in the file");
    let mut code = [0u8; 16];
    mem.read(get(AT_ENTRY), &mut code).unwrap();
    assert_eq!(code, file[entry_off..entry_off + 16]);
    assert_eq!(get(AT_ENTRY), img.entry + bias);

    let mut rnd = [0u8; 16];
    mem.read(get(AT_RANDOM), &mut rnd).unwrap();
    assert_eq!(rnd, random);
    assert_eq!(
        read_cstring(&mem, get(AT_EXECFN), 64).unwrap(),
        b"/bin/prog"
    );
    assert_eq!(read_cstring(&mem, get(AT_PLATFORM), 64).unwrap(), b"x86_64");
    assert_eq!(get(AT_PAGESZ), 4096);

    // Text is not writable once loaded; bss reads as zero.
    assert_eq!(mem.write(get(AT_ENTRY), &[0xcc]), Err(Errno::EFAULT));
    for seg in img.segments.iter().filter(|s| s.memsz > s.filesz) {
        let bss = seg.vaddr + bias + seg.filesz;
        let n = (seg.memsz - seg.filesz).min(64) as usize;
        let mut zero = vec![0xffu8; n];
        mem.read(bss, &mut zero).unwrap();
        assert!(zero.iter().all(|&b| b == 0), "bss at {bss:#x} is zero");
    }
}

/// A two-segment static executable: headers + code in one RX page, data + bss after.
fn crafted_static() -> Vec<u8> {
    let mut f = vec![0u8; 0x1100];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[6] = 1;
    f[16] = 2; // ET_EXEC
    f[18] = 62;
    f[20] = 1;
    f[24..32].copy_from_slice(&0x400100u64.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes());
    f[54] = 56;
    f[56] = 2;
    let ph = |f: &mut Vec<u8>, at: usize, flags: u32, off: u64, va: u64, fsz: u64, msz: u64| {
        f[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
        f[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
        f[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
        f[at + 16..at + 24].copy_from_slice(&va.to_le_bytes());
        f[at + 32..at + 40].copy_from_slice(&fsz.to_le_bytes());
        f[at + 40..at + 48].copy_from_slice(&msz.to_le_bytes());
        f[at + 48..at + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    };
    ph(&mut f, 64, 5, 0, 0x400000, 0x200, 0x200);
    ph(&mut f, 120, 6, 0x1000, 0x401000, 0x80, 0x2000);
    // "Code" at the entry: recognisable bytes.
    for (i, b) in f[0x100..0x110].iter_mut().enumerate() {
        *b = 0x90 + i as u8;
    }
    f[0x1000..0x1100].fill(0xdd);
    f
}

#[test]
fn crafted_static_executable_end_to_end() {
    exec_and_check(&crafted_static(), None);
}

#[test]
fn crafted_executable_at_a_bias_end_to_end() {
    // The same file marked ET_DYN is placed at ET_DYN_BASE.
    let mut f = crafted_static();
    f[16] = 3;
    let img = elf::parse(&f).unwrap();
    let bias = elf::load_bias(&img, LoadRole::Main);
    assert_eq!(bias + 0x400000, elf::ET_DYN_BASE);
    exec_and_check(&f, Some(bias));
}

#[test]
fn musl_executables_end_to_end() {
    let Some(exe) = crate::test_support::musl_executable("exec-static", &[]) else {
        std::eprintln!("musl-gcc not installed: real executable flow skipped");
        return;
    };
    exec_and_check(&exe, None);
    let flags = ["-static-pie", "-fPIE", "-Wl,--no-dynamic-linker"];
    let pie = crate::test_support::musl_executable("exec-static-pie", &flags).unwrap();
    exec_and_check(&pie, None);
}

/// Binaries the set-up installs on the host: Debian's busybox-static (the acceptance
/// test's shell, a static glibc ET_EXEC) and musl's dynamic loader (an ET_DYN with no
/// interpreter, placed as an interpreter).
#[test]
fn host_busybox_and_musl_loader_end_to_end() {
    if let Ok(busybox) = std::fs::read("/bin/busybox") {
        let img = elf::parse(&busybox).unwrap();
        assert_eq!(img.kind, elf::ElfKind::Static);
        exec_and_check(&busybox, None);
    }
    if let Ok(ld) = std::fs::read("/lib/ld-musl-x86_64.so.1") {
        let img = elf::parse(&ld).unwrap();
        assert_eq!(img.kind, elf::ElfKind::StaticPie);
        let bias = elf::load_bias(&img, LoadRole::Interpreter);
        assert_eq!(bias, elf::INTERP_BASE);
        exec_and_check(&ld, Some(bias));
    }
}
