//! ELF parser tests: hand-built images for every rule, real musl executables when
//! musl-gcc is installed, and property tests that no input makes `parse` panic.

use super::*;
use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

/// A program header for [`build`]: (type, flags, offset, vaddr, filesz, memsz, align).
type Ph = (u32, u32, u64, u64, u64, u64, u64);

/// Builds an ELF64 image: header, program headers at offset 64, then `body` at
/// offset 64 + 56 * phdrs.len(); the file is padded to `file_len` bytes.
fn build(e_type: u16, entry: u64, phdrs: &[Ph], body: &[u8], file_len: usize) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[6] = 1;
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes());
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for &(t, fl, off, va, fsz, msz, al) in phdrs {
        f.extend_from_slice(&t.to_le_bytes());
        f.extend_from_slice(&fl.to_le_bytes());
        f.extend_from_slice(&off.to_le_bytes());
        f.extend_from_slice(&va.to_le_bytes());
        f.extend_from_slice(&va.to_le_bytes());
        f.extend_from_slice(&fsz.to_le_bytes());
        f.extend_from_slice(&msz.to_le_bytes());
        f.extend_from_slice(&al.to_le_bytes());
    }
    f.extend_from_slice(body);
    if f.len() < file_len {
        f.resize(file_len, 0);
    }
    f
}

const RX: u32 = PF_R | PF_X;
const RW: u32 = PF_R | PF_W;

/// A typical small static executable: text (mapping the headers) and data+bss.
fn static_exec() -> Vec<u8> {
    build(
        ET_EXEC,
        0x401000,
        &[
            (PT_LOAD, RX, 0, 0x400000, 0x1100, 0x1100, 0x1000),
            (PT_LOAD, RW, 0x2000, 0x402000, 0x100, 0x3000, 0x1000),
            (PT_GNU_STACK, RW, 0, 0, 0, 0, 16),
        ],
        &[],
        0x2100,
    )
}

#[test]
fn static_executable() {
    let img = parse(&static_exec()).unwrap();
    assert_eq!(img.kind, ElfKind::Static);
    assert!(!img.pie);
    assert_eq!(img.entry, 0x401000);
    assert_eq!(img.phnum, 3);
    assert_eq!(img.phentsize, 56);
    // No PT_PHDR: computed from the text segment, which maps file offset 64.
    assert_eq!(img.phdr_vaddr, Some(0x400040));
    assert_eq!(img.segments.len(), 2);
    let data = img.segments[1];
    assert_eq!(
        (data.vaddr, data.memsz, data.file_offset, data.filesz),
        (0x402000, 0x3000, 0x2000, 0x100)
    );
    assert_eq!(
        data.flags,
        SegmentFlags {
            read: true,
            write: true,
            exec: false
        }
    );
    assert_eq!(
        img.segments[0].flags,
        SegmentFlags {
            read: true,
            write: false,
            exec: true
        }
    );
    assert!(!img.exec_stack);
    assert_eq!(img.span(), (0x400000, 0x405000));
    assert_eq!(load_bias(&img, LoadRole::Main), 0);
    assert_eq!(img.biased_span(0), Ok((0x400000, 0x405000)));
}

#[test]
fn static_pie_and_dynamic() {
    let pie = build(
        ET_DYN,
        0x1000,
        &[(PT_LOAD, RX, 0, 0, 0x2000, 0x2000, 0x1000)],
        &[],
        0x2000,
    );
    let img = parse(&pie).unwrap();
    assert_eq!(img.kind, ElfKind::StaticPie);
    assert!(img.pie);
    assert_eq!(img.phdr_vaddr, Some(64));
    assert_eq!(load_bias(&img, LoadRole::Main), ET_DYN_BASE);
    assert_eq!(load_bias(&img, LoadRole::Interpreter), INTERP_BASE);

    let interp = b"/lib/ld-musl-x86_64.so.1\0";
    let body_at = 64 + 56 * 3;
    let dynamic = build(
        ET_DYN,
        0x1000,
        &[
            (PT_PHDR, PF_R, 64, 64, 56 * 3, 56 * 3, 8),
            (
                PT_INTERP,
                PF_R,
                body_at as u64,
                body_at as u64,
                interp.len() as u64,
                interp.len() as u64,
                1,
            ),
            (PT_LOAD, RX, 0, 0, 0x2000, 0x2000, 0x200000),
        ],
        interp,
        0x2000,
    );
    let img = parse(&dynamic).unwrap();
    assert_eq!(
        img.kind,
        ElfKind::Dynamic {
            interp: "/lib/ld-musl-x86_64.so.1".into()
        }
    );
    assert_eq!(img.phdr_vaddr, Some(64));
    assert_eq!(img.max_align, 0x200000);
    let bias = load_bias(&img, LoadRole::Main);
    assert_eq!(bias % 0x200000, 0, "bias honours the 2 MiB p_align");
    assert!((ET_DYN_BASE..ET_DYN_BASE + 0x200000).contains(&bias));
}

#[test]
fn bias_moves_the_lowest_segment_to_the_base() {
    let pie = build(
        ET_DYN,
        0x11000,
        &[(PT_LOAD, RX, 0, 0x10000, 0x1000, 0x1000, 0x1000)],
        &[],
        0x1000,
    );
    let img = parse(&pie).unwrap();
    let bias = load_bias(&img, LoadRole::Main);
    assert_eq!(bias + 0x10000, ET_DYN_BASE);
    assert_eq!(
        img.biased_span(bias),
        Ok((ET_DYN_BASE, ET_DYN_BASE + 0x1000))
    );
    assert_eq!(img.biased_span(USER_END), Err(ElfError::SegmentOutOfRange));
}

/// Overwrites `len` bytes at `at` in a copy of `image`.
fn patched(image: &[u8], at: usize, data: &[u8]) -> Vec<u8> {
    let mut v = image.to_vec();
    v[at..at + data.len()].copy_from_slice(data);
    v
}

#[test]
fn header_errors() {
    let good = static_exec();
    assert_eq!(parse(&[]), Err(ElfError::Truncated));
    assert_eq!(parse(&good[..63]), Err(ElfError::Truncated));
    assert_eq!(parse(b"#!/bin/sh\n"), Err(ElfError::BadMagic));
    assert_eq!(
        parse(&patched(&good, 0, b"\x7fELG")),
        Err(ElfError::BadMagic)
    );
    assert_eq!(parse(&patched(&good, 4, &[1])), Err(ElfError::NotElf64));
    assert_eq!(
        parse(&patched(&good, 5, &[2])),
        Err(ElfError::NotLittleEndian)
    );
    assert_eq!(parse(&patched(&good, 6, &[0])), Err(ElfError::BadVersion));
    assert_eq!(
        parse(&patched(&good, 18, &183u16.to_le_bytes())),
        Err(ElfError::WrongMachine)
    );
    assert_eq!(
        parse(&patched(&good, 16, &1u16.to_le_bytes())),
        Err(ElfError::NotExecutable)
    );
    assert_eq!(
        parse(&patched(&good, 16, &4u16.to_le_bytes())),
        Err(ElfError::NotExecutable)
    );
    assert_eq!(
        parse(&patched(&good, 54, &32u16.to_le_bytes())),
        Err(ElfError::BadProgramHeaders)
    );
    assert_eq!(
        parse(&patched(&good, 56, &0u16.to_le_bytes())),
        Err(ElfError::BadProgramHeaders)
    );
    assert_eq!(
        parse(&patched(&good, 56, &u16::MAX.to_le_bytes())),
        Err(ElfError::BadProgramHeaders)
    );
    // A table that fits the 64 KiB limit but runs past the end of the file.
    assert_eq!(
        parse(&patched(&good, 56, &1000u16.to_le_bytes())),
        Err(ElfError::Truncated)
    );
    assert_eq!(
        parse(&patched(&good, 32, &u64::MAX.to_le_bytes())),
        Err(ElfError::Truncated)
    );
    for e in [
        ElfError::BadMagic,
        ElfError::Truncated,
        ElfError::WrongMachine,
    ] {
        assert_eq!(e.errno(), Errno::ENOEXEC);
    }
}

#[test]
fn segment_errors() {
    let one = |ph: Ph, len: usize| parse(&build(ET_EXEC, 0x400000, &[ph], &[], len));
    assert_eq!(
        one((PT_LOAD, RX, 0, 0x400000, 0x2000, 0x1000, 0x1000), 0x2000),
        Err(ElfError::FileszExceedsMemsz)
    );
    assert_eq!(ElfError::FileszExceedsMemsz.errno(), Errno::EINVAL);
    assert_eq!(
        one((PT_LOAD, RX, 0, 0x400000, 0x3000, 0x3000, 0x1000), 0x2000),
        Err(ElfError::SegmentOutOfFile)
    );
    assert_eq!(
        one((PT_LOAD, RX, u64::MAX, 0x400fff, 1, 1, 0x1000), 0x2000),
        Err(ElfError::SegmentOutOfFile)
    );
    assert_eq!(
        one((PT_LOAD, RX, 0, u64::MAX - 10, 0, 100, 0x1000), 0x1000),
        Err(ElfError::SegmentOutOfRange)
    );
    assert_eq!(
        one((PT_LOAD, RX, 0, USER_END, 0, 1, 0x1000), 0x1000),
        Err(ElfError::SegmentOutOfRange)
    );
    assert_eq!(ElfError::SegmentOutOfRange.errno(), Errno::EINVAL);
    assert_eq!(
        one((PT_LOAD, RX, 0x10, 0x400000, 0x10, 0x10, 0x1000), 0x1000),
        Err(ElfError::Misaligned)
    );
    assert_eq!(
        one((PT_GNU_STACK, RW, 0, 0, 0, 0, 16), 0x1000),
        Err(ElfError::NoLoadSegments)
    );
    let unordered = build(
        ET_EXEC,
        0x400000,
        &[
            (PT_LOAD, RW, 0, 0x500000, 0x100, 0x100, 0x1000),
            (PT_LOAD, RX, 0, 0x400000, 0x100, 0x100, 0x1000),
        ],
        &[],
        0x1000,
    );
    assert_eq!(parse(&unordered), Err(ElfError::UnorderedSegments));
}

#[test]
fn interpreter_errors() {
    let with_interp = |path: &[u8], filesz: u64| {
        let at = (64 + 56 * 2) as u64;
        parse(&build(
            ET_DYN,
            0,
            &[
                (PT_INTERP, PF_R, at, at, filesz, filesz, 1),
                (PT_LOAD, RX, 0, 0, 0x1000, 0x1000, 0x1000),
            ],
            path,
            0x1000,
        ))
    };
    assert_eq!(
        with_interp(b"/ld.so", 6),
        Err(ElfError::BadInterpreter),
        "not NUL-terminated"
    );
    assert_eq!(
        with_interp(b"\0", 1),
        Err(ElfError::BadInterpreter),
        "shorter than 2"
    );
    assert_eq!(
        with_interp(b"/ld\xff\0", 5),
        Err(ElfError::BadInterpreter),
        "not UTF-8"
    );
    assert_eq!(
        with_interp(b"/ld.so\0", 0x2000),
        Err(ElfError::BadInterpreter),
        "longer than PATH_MAX"
    );
    assert_eq!(
        with_interp(b"/ld.so\0", 4000),
        Err(ElfError::SegmentOutOfFile)
    );
    let img = with_interp(b"/a\0junk\0", 8).unwrap();
    assert_eq!(
        img.kind,
        ElfKind::Dynamic {
            interp: "/a".into()
        },
        "path ends at the first NUL"
    );
}

fn assert_consistent(image: &[u8], img: &ElfImage) {
    assert!(!img.segments.is_empty());
    for s in &img.segments {
        assert!(s.filesz <= s.memsz);
        assert!(s.file_offset + s.filesz <= image.len() as u64);
        assert!(s.vaddr + s.memsz <= USER_END);
        assert_eq!(s.vaddr % PAGE_SIZE, s.file_offset % PAGE_SIZE);
    }
    assert!(img.segments.windows(2).all(|w| w[0].vaddr <= w[1].vaddr));
    assert!(img.max_align.is_power_of_two());
    let bias = load_bias(img, LoadRole::Main);
    assert_eq!(bias % PAGE_SIZE, 0);
}

#[test]
fn real_musl_static_executables() {
    let Some(exe) = crate::test_support::musl_executable("elf-static", &[]) else {
        std::eprintln!("musl-gcc not installed: real ELF test skipped");
        return;
    };
    let img = parse(&exe).unwrap();
    assert_eq!(img.kind, ElfKind::Static);
    assert_consistent(&exe, &img);
    let text = img
        .segments
        .iter()
        .find(|s| s.flags.exec)
        .expect("an executable segment");
    assert!(img.entry >= text.vaddr && img.entry < text.vaddr + text.memsz);
    let phdr = img.phdr_vaddr.expect("program headers are mapped");
    assert!(img
        .segments
        .iter()
        .any(|s| phdr >= s.vaddr && phdr < s.vaddr + s.filesz));

    // Debian's musl-gcc specs add a PT_INTERP even with -static-pie; without one it
    // is a static-pie in form (Debian's musl 1.2.3 libc.a does not run that way, but
    // the file is what a working toolchain emits).
    let flags = ["-static-pie", "-fPIE", "-Wl,--no-dynamic-linker"];
    let pie = crate::test_support::musl_executable("elf-static-pie", &flags).unwrap();
    let img = parse(&pie).unwrap();
    assert_eq!(img.kind, ElfKind::StaticPie);
    assert_consistent(&pie, &img);
    assert!(load_bias(&img, LoadRole::Main) >= ET_DYN_BASE);
}

#[test]
fn real_musl_dynamic_executable() {
    let flags = ["-static-pie", "-fPIE"];
    let Some(exe) = crate::test_support::musl_executable("elf-dyn", &flags) else {
        return;
    };
    let img = parse(&exe).unwrap();
    let interp = "/lib/ld-musl-x86_64.so.1".into();
    assert_eq!(img.kind, ElfKind::Dynamic { interp });
    assert!(img.pie);
    assert_consistent(&exe, &img);
}

#[test]
fn host_dynamic_executable_when_present() {
    let Ok(bytes) = std::fs::read("/bin/true") else {
        return;
    };
    let img = parse(&bytes).unwrap();
    assert!(matches!(img.kind, ElfKind::Dynamic { ref interp } if interp.starts_with('/')));
    assert_consistent(&bytes, &img);
}

/// Real executables to mutate: the crafted ones, plus a musl static one if available.
/// Compiled once per test run, not once per case.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut v = vec![static_exec()];
        if let Some(exe) = crate::test_support::musl_executable("elf-seed", &[]) {
            v.push(exe);
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(img) = parse(&bytes) {
            assert_consistent(&bytes, &img);
        }
    }

    #[test]
    fn elf_prefix_then_arbitrary_never_panics(
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        // Valid identification so the fuzzing reaches the program headers.
        let mut bytes = static_exec()[..20].to_vec();
        bytes.extend_from_slice(&tail);
        if let Ok(img) = parse(&bytes) {
            assert_consistent(&bytes, &img);
        }
    }

    #[test]
    fn mutated_executables_never_panic(
        seed in 0usize..2,
        edits in proptest::collection::vec((0usize..400, any::<u8>()), 1..12),
        truncate in proptest::option::of(0usize..0x3000),
    ) {
        let seeds = seeds();
        let mut bytes = seeds[seed % seeds.len()].clone();
        // Edits land in the header and program headers, where parsing decisions are.
        for (at, b) in edits {
            if at < bytes.len() {
                bytes[at] = b;
            }
        }
        if let Some(n) = truncate {
            bytes.truncate(n);
        }
        if let Ok(img) = parse(&bytes) {
            assert_consistent(&bytes, &img);
        }
    }
}

#[test]
fn segment_mappings_split_file_zero_and_anonymous() {
    let img = parse(&static_exec()).unwrap();
    let text = img.segments[0].mapping(0).unwrap();
    assert_eq!(
        (
            text.start,
            text.file_end,
            text.file_page_offset,
            text.zero_start,
            text.end
        ),
        (0x400000, 0x402000, 0, 0x401100, 0x402000)
    );
    // Data: 0x100 bytes from the file, the rest of that page zeroed, two anonymous pages.
    let data = img.segments[1].mapping(0x1000).unwrap();
    assert_eq!(
        (
            data.start,
            data.file_end,
            data.file_page_offset,
            data.zero_start,
            data.end
        ),
        (0x403000, 0x404000, 0x2000, 0x403100, 0x406000)
    );
    assert!(data.flags.write);
    assert_eq!(
        img.segments[1].mapping(USER_END),
        Err(ElfError::SegmentOutOfRange)
    );
    assert_eq!(
        img.segments[1].mapping(u64::MAX),
        Err(ElfError::SegmentOutOfRange)
    );
    let bss_only = LoadSegment {
        vaddr: 0x500010,
        memsz: 0x20,
        file_offset: 0x10,
        filesz: 0,
        flags: SegmentFlags::default(),
    };
    let m = bss_only.mapping(0).unwrap();
    assert_eq!(
        (m.start, m.file_end, m.zero_start, m.end),
        (0x500000, 0x500000, 0x500000, 0x501000)
    );
}

#[test]
fn phdr_address_comes_from_the_segment_mapping_e_phoff() {
    // PT_PHDR claims 0x999000, but the text segment maps offset 64 at 0x400040; Linux
    // reports the latter, and so do we.
    let f = build(
        ET_EXEC,
        0x400100,
        &[
            (PT_PHDR, PF_R, 64, 0x999000, 112, 112, 8),
            (PT_LOAD, RX, 0, 0x400000, 0x200, 0x200, 0x1000),
        ],
        &[],
        0x200,
    );
    assert_eq!(parse(&f).unwrap().phdr_vaddr, Some(0x400040));
    // With no segment mapping the headers, PT_PHDR is all there is.
    let f = build(
        ET_EXEC,
        0x401000,
        &[
            (PT_PHDR, PF_R, 64, 0x999000, 112, 112, 8),
            (PT_LOAD, RX, 0x1000, 0x401000, 0x10, 0x10, 0x1000),
        ],
        &[],
        0x1010,
    );
    assert_eq!(parse(&f).unwrap().phdr_vaddr, Some(0x999000));
    let f = build(
        ET_EXEC,
        0x401000,
        &[(PT_LOAD, RX, 0x1000, 0x401000, 0x10, 0x10, 0x1000)],
        &[],
        0x1010,
    );
    assert_eq!(parse(&f).unwrap().phdr_vaddr, None);
}

/// Numbers near the edges that overflow-prone arithmetic trips on.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(USER_END),
        Just(USER_END - 1),
        Just(PAGE_SIZE),
        Just(1u64 << 63),
        0u64..0x3000,
        0x400000u64..0x403000,
        any::<u64>(),
    ]
}

/// A program header that is often valid, so fuzzing reaches the success paths.
fn plausible_phdr() -> impl Strategy<Value = Ph> {
    (
        prop_oneof![4 => Just(PT_LOAD), 1 => Just(PT_GNU_STACK)],
        0u32..8,
        0u64..0x3000,
        0u64..0x100,
        0u64..0x1100,
        0u64..0x3000,
    )
        .prop_map(|(t, flags, off, page, filesz, extra)| {
            let vaddr = 0x400000 + page * 0x1000 + (off & 0xfff);
            (t, flags, off, vaddr, filesz, filesz + extra, 0x1000)
        })
}

fn phdr_strategy() -> impl Strategy<Value = Ph> {
    prop_oneof![3 => plausible_phdr(), 1 => edgy_phdr()]
}

fn edgy_phdr() -> impl Strategy<Value = Ph> {
    (
        prop_oneof![
            Just(PT_LOAD),
            Just(PT_INTERP),
            Just(PT_PHDR),
            Just(PT_GNU_STACK),
            any::<u32>()
        ],
        0u32..8,
        edgy_u64(),
        edgy_u64(),
        edgy_u64(),
        edgy_u64(),
        prop_oneof![
            Just(0u64),
            Just(0x1000),
            Just(0x200000),
            Just(1u64 << 62),
            any::<u64>()
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Well-formed headers with arbitrary program headers: reaches every segment
    /// check, and whatever parses can be placed and planned without panicking.
    #[test]
    fn arbitrary_program_headers_never_panic(
        dyn_type in any::<bool>(),
        entry in edgy_u64(),
        phdrs in proptest::collection::vec(phdr_strategy(), 1..6),
        file_len in 0usize..0x4000,
        congruent in any::<bool>(),
    ) {
        let e_type = if dyn_type { ET_DYN } else { ET_EXEC };
        let mut phdrs = phdrs;
        if congruent {
            // Make offsets page-congruent and segments ordered so many images get past
            // those checks.
            for ph in &mut phdrs {
                ph.2 = (ph.2 & !0xfff) | (ph.3 & 0xfff);
            }
            phdrs.sort_by_key(|ph| ph.3);
        }
        let bytes = build(e_type, entry, &phdrs, b"/lib/ld.so\0", file_len);
        let parsed = parse(&bytes);
        if let Ok(img) = parsed {
            assert_consistent(&bytes, &img);
            for role in [LoadRole::Main, LoadRole::Interpreter] {
                let bias = load_bias(&img, role);
                if img.biased_span(bias).is_ok() {
                    for s in &img.segments {
                        let m = s.mapping(bias).unwrap();
                        prop_assert!(m.start <= m.zero_start && m.zero_start <= m.file_end);
                        prop_assert!(m.file_end <= m.end && m.end <= USER_END);
                    }
                }
            }
        }
    }
}
