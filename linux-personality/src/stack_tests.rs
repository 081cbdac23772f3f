//! Initial-stack tests: a decoder that walks the image the way libc's start code does,
//! and a comparison with the layout the host Linux kernel gives a real program.

use super::*;
use crate::abi::auxv::*;
use proptest::prelude::*;
use std::string::String;
use std::vec::Vec;

const TOP: u64 = 0x7fff_ffff_f000;

/// What a program finds on its stack at entry.
#[derive(Debug, PartialEq)]
struct Decoded {
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    auxv: Vec<(u64, u64)>,
}

struct View<'a> {
    st: &'a InitialStack,
    top: u64,
}

impl View<'_> {
    fn word(&self, addr: u64) -> u64 {
        assert!(
            addr >= self.st.rsp && addr + 8 <= self.top,
            "word {addr:#x} outside image"
        );
        let i = (addr - self.st.rsp) as usize;
        u64::from_le_bytes(self.st.bytes[i..i + 8].try_into().unwrap())
    }

    fn cstr(&self, addr: u64) -> Vec<u8> {
        assert!(
            addr >= self.st.rsp && addr < self.top,
            "string {addr:#x} outside image"
        );
        let rest = &self.st.bytes[(addr - self.st.rsp) as usize..];
        let n = rest.iter().position(|&b| b == 0).expect("NUL-terminated");
        rest[..n].to_vec()
    }

    fn bytes(&self, addr: u64, n: usize) -> &[u8] {
        let i = (addr - self.st.rsp) as usize;
        &self.st.bytes[i..i + n]
    }

    /// Walks argc, argv, envp and auxv from rsp, as `_start` does.
    fn decode(&self) -> Decoded {
        let mut at = self.st.rsp;
        let argc = self.word(at);
        at += 8;
        let mut argv = Vec::new();
        for _ in 0..argc {
            argv.push(self.cstr(self.word(at)));
            at += 8;
        }
        assert_eq!(self.word(at), 0, "argv NULL");
        at += 8;
        let mut envp = Vec::new();
        while self.word(at) != 0 {
            envp.push(self.cstr(self.word(at)));
            at += 8;
        }
        at += 8;
        let mut auxv = Vec::new();
        loop {
            let (k, v) = (self.word(at), self.word(at + 8));
            at += 16;
            if k == AT_NULL {
                break;
            }
            auxv.push((k, v));
        }
        Decoded { argv, envp, auxv }
    }
}

fn aux_get(auxv: &[(u64, u64)], key: u64) -> Option<u64> {
    auxv.iter().find(|&&(k, _)| k == key).map(|&(_, v)| v)
}

fn sample_auxv() -> Vec<(u64, u64)> {
    ExecAuxv {
        phdr: 0x400040,
        phnum: 6,
        entry: 0x401000,
        uid: 1000,
        euid: 1000,
        gid: 100,
        egid: 100,
        hwcap: 0x178bfbff,
        minsigstksz: 2048,
        ..ExecAuxv::default()
    }
    .entries()
}

#[test]
fn layout_decodes_and_matches_linux_order() {
    let argv: [&[u8]; 3] = [b"/bin/echo", b"hello", b""];
    let envp: [&[u8]; 2] = [b"PATH=/bin", b"HOME=/root"];
    let random = *b"0123456789abcdef";
    let st = build_initial_stack(
        TOP,
        &argv,
        &envp,
        &sample_auxv(),
        random,
        b"/bin/echo",
        b"x86_64",
    )
    .unwrap();
    let view = View { st: &st, top: TOP };
    assert_eq!(st.rsp % 16, 0);
    assert_eq!(st.rsp + st.bytes.len() as u64, TOP);
    let d = view.decode();
    assert_eq!(d.argv, argv.map(<[u8]>::to_vec));
    assert_eq!(d.envp, envp.map(<[u8]>::to_vec));

    // The loader's entries come through unchanged and in order, then the three this
    // function adds.
    let mut expect = sample_auxv();
    expect.extend([
        (AT_RANDOM, st.random),
        (AT_EXECFN, st.execfn),
        (AT_PLATFORM, st.platform),
    ]);
    assert_eq!(d.auxv, expect);
    assert_eq!(view.bytes(st.random, 16), &random);
    assert_eq!(view.cstr(st.execfn), b"/bin/echo");
    assert_eq!(view.cstr(st.platform), b"x86_64");
    assert_eq!(aux_get(&d.auxv, AT_PAGESZ), Some(4096));

    // Strings from the top: 8 zero bytes, execfn, env strings, argv strings.
    assert_eq!(view.bytes(TOP - 8, 8), &[0; 8]);
    assert_eq!(st.execfn, TOP - 8 - 10);
    assert_eq!(st.env_end, st.execfn);
    assert_eq!(st.env_start, st.env_end - (10 + 11));
    assert_eq!(st.arg_end, st.env_start);
    assert_eq!(st.arg_start, st.arg_end - (10 + 6 + 1));
    assert_eq!(
        view.word(st.argv),
        st.arg_start,
        "argv[0] is the lowest string"
    );
    assert_eq!(view.word(st.envp), st.env_start);
    // Platform string sits on the 16-aligned boundary below the strings, random below it.
    assert_eq!(st.platform, (st.arg_start & !15) - 7);
    assert_eq!(st.random, st.platform - 16);
    assert_eq!(st.argv, st.rsp + 8);
    assert_eq!(st.envp, st.argv + 8 * 4);
    assert_eq!(st.auxv, st.envp + 8 * 3);
    assert!(st.auxv + 16 * (d.auxv.len() as u64 + 1) <= st.random);
    assert!(
        st.random - (st.auxv + 16 * (d.auxv.len() as u64 + 1)) < 16,
        "padding < 16"
    );
}

#[test]
fn empty_argv_and_envp() {
    let st = build_initial_stack(TOP, &[], &[], &[], [7; 16], b"/init", b"x86_64").unwrap();
    let d = View { st: &st, top: TOP }.decode();
    assert!(d.argv.is_empty() && d.envp.is_empty());
    assert_eq!(d.auxv.len(), 3);
    assert_eq!(st.rsp % 16, 0);
}

#[test]
fn limits() {
    let long = vec![b'a'; MAX_ARG_STRLEN];
    let ok = vec![b'a'; MAX_ARG_STRLEN - 1];
    let top = TOP;
    let r = |argv: &[&[u8]], envp: &[&[u8]]| {
        build_initial_stack(top, argv, envp, &[], [0; 16], b"/x", b"x86_64")
    };
    assert_eq!(
        r(&[&long], &[]).err(),
        Some(Errno::E2BIG),
        "one string past MAX_ARG_STRLEN"
    );
    assert_eq!(r(&[], &[&long]).err(), Some(Errno::E2BIG));
    assert!(r(&[&ok], &[]).is_ok());
    // 16 strings of 128 KiB exceed 2 MiB together.
    let many: Vec<&[u8]> = (0..16).map(|_| ok.as_slice()).collect();
    assert_eq!(r(&many, &[]).err(), Some(Errno::E2BIG));
    let fifteen = &many[..15];
    let st = r(fifteen, &[]).unwrap();
    assert_eq!(View { st: &st, top }.decode().argv.len(), 15);
    // Many tiny strings: the pointers count too (250k * (2 + 8) bytes > 2 MiB).
    let tiny: Vec<&[u8]> = (0..250_000).map(|_| b"a".as_slice()).collect();
    assert_eq!(r(&tiny, &[]).err(), Some(Errno::E2BIG));
    let fine: Vec<&[u8]> = (0..150_000).map(|_| b"a".as_slice()).collect();
    assert!(r(&fine, &[]).is_ok(), "1.5 MB of strings and pointers fit");

    let ok_args: [&[u8]; 1] = [b"a"];
    let b = |top: u64, auxv: &[(u64, u64)]| {
        build_initial_stack(top, &ok_args, &[], auxv, [0; 16], b"/x", b"x86_64")
    };
    assert_eq!(b(TOP + 8, &[]).err(), Some(Errno::EINVAL), "unaligned top");
    assert_eq!(b(0x100, &[]).err(), Some(Errno::EINVAL), "top too low");
    assert_eq!(
        b(0x7fff_ffff_f010, &[]).err(),
        Some(Errno::EINVAL),
        "above user space"
    );
    assert_eq!(
        b(TOP, &[(AT_RANDOM, 1)]).err(),
        Some(Errno::EINVAL),
        "caller may not pass AT_RANDOM"
    );
    assert_eq!(b(TOP, &[(AT_NULL, 0)]).err(), Some(Errno::EINVAL));
    assert_eq!(
        b(TOP, &vec![(AT_IGNORE, 0); MAX_AUXV + 1]).err(),
        Some(Errno::EINVAL)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_arguments_round_trip(
        argv in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..40), 0..20),
        envp in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..40), 0..20),
        execfn in proptest::collection::vec(1u8..=255, 0..40),
        top_pages in 16u64..1000,
    ) {
        let top = top_pages * 4096;
        let a: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let e: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
        let st = build_initial_stack(top, &a, &e, &sample_auxv(), [9; 16], &execfn, b"x86_64").unwrap();
        prop_assert_eq!(st.rsp % 16, 0);
        prop_assert_eq!(st.rsp + st.bytes.len() as u64, top);
        let d = View { st: &st, top }.decode();
        prop_assert_eq!(d.argv, argv);
        prop_assert_eq!(d.envp, envp);
        prop_assert_eq!(View { st: &st, top }.cstr(st.execfn), execfn);
    }
}

/// A program that reports where the host kernel put its strings, relative to the top
/// of the stack (8 bytes above the end of the execfn string), and the alignments.
const PROBE_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
extern char **environ;
int main(int argc, char **argv) {
  char *execfn = (char *)getauxval(AT_EXECFN);
  unsigned long top = (unsigned long)execfn + strlen(execfn) + 1 + 8;
  printf("top%%4096 %lu\n", top % 4096);
  printf("rsp%%16 %lu\n", ((unsigned long)argv - 8) % 16);
  printf("argc %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv %lu\n", top - (unsigned long)argv[i]);
  for (char **e = environ; *e; e++) printf("env %lu\n", top - (unsigned long)*e);
  printf("execfn %lu\n", top - (unsigned long)execfn);
  unsigned long plat = getauxval(AT_PLATFORM), rnd = getauxval(AT_RANDOM);
  printf("platform %s\n", (char *)plat);
  printf("platform-random %lu\n", plat - rnd);
  printf("envp-after-argv %d\n", (char **)environ == argv + argc + 1);
  printf("pagesz %lu\n", getauxval(AT_PAGESZ));
  return 0;
}
"#;

#[test]
fn matches_the_host_kernel_layout() {
    let Some(exe) = crate::test_support::compile_c("stack-probe", PROBE_C, &[]) else {
        std::eprintln!("musl-gcc not installed: host layout comparison skipped");
        return;
    };
    let out = std::process::Command::new(&exe)
        .arg("one")
        .arg("")
        .arg("three words")
        .env_clear()
        .env("A", "1")
        .env("LONGER_NAME", "some value")
        .output()
        .unwrap();
    assert!(out.status.success());
    let linux = String::from_utf8(out.stdout).unwrap();

    let execfn = exe.to_str().unwrap().as_bytes();
    let argv: [&[u8]; 4] = [execfn, b"one", b"", b"three words"];
    let envp: [&[u8]; 2] = [b"A=1", b"LONGER_NAME=some value"];
    let st =
        build_initial_stack(TOP, &argv, &envp, &sample_auxv(), [1; 16], execfn, PLATFORM).unwrap();
    let view = View { st: &st, top: TOP };
    let mut ours = String::new();
    let mut line = |s: String| {
        ours.push_str(&s);
        ours.push('\n');
    };
    let top = st.execfn + execfn.len() as u64 + 1 + 8;
    line(std::format!("top%4096 {}", top % 4096));
    line(std::format!("rsp%16 {}", st.rsp % 16));
    line(std::format!("argc {}", argv.len()));
    for i in 0..argv.len() as u64 {
        line(std::format!("argv {}", top - view.word(st.argv + 8 * i)));
    }
    for i in 0..envp.len() as u64 {
        line(std::format!("env {}", top - view.word(st.envp + 8 * i)));
    }
    line(std::format!("execfn {}", top - st.execfn));
    line(std::format!(
        "platform {}",
        String::from_utf8_lossy(&view.cstr(st.platform))
    ));
    line(std::format!("platform-random {}", st.platform - st.random));
    line(std::format!(
        "envp-after-argv {}",
        u8::from(st.envp == st.argv + 8 * 5)
    ));
    line(std::format!(
        "pagesz {}",
        aux_get(&view.decode().auxv, AT_PAGESZ).unwrap()
    ));
    assert_eq!(ours, linux);
}
