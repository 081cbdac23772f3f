//! Rough costs of the file-system calls through dispatch on the fake kernel (host,
//! release build). Ignored by default; run with
//! `cargo test -p linux-personality --release fs_costs -- --ignored --nocapture`.

use std::format;
use std::time::Instant;

use crate::abi::nr;
use crate::file::flags::*;
use crate::fs::test_kernel::FakeKernel;

fn per_op(label: &str, n: u32, mut f: impl FnMut(u32)) {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    let ns = t.elapsed().as_nanos() / u128::from(n);
    std::eprintln!("{label}: {ns} ns");
}

#[test]
#[ignore]
fn fs_costs() {
    let mut k = FakeKernel::new();
    k.mkdir("/a", 0o755).unwrap();
    k.mkdir("/a/b", 0o755).unwrap();
    k.mkdir("/a/b/c", 0o755).unwrap();
    k.mkdir("/a/b/c/d", 0o755).unwrap();
    k.create("/a/b/c/d/f", b"x");
    let path = k.cstr("/a/b/c/d/f");
    let buf = k.alloc(256);
    per_op("stat of a 5-component path", 100_000, |_| {
        k.reset_alloc_keep(buf + 256);
        k.sys(nr::STAT, &[path, buf]).unwrap();
    });
    per_op("open + close", 100_000, |_| {
        let fd = k.sys(nr::OPEN, &[path, u64::from(O_RDONLY), 0]).unwrap();
        k.sys(nr::CLOSE, &[fd]).unwrap();
    });
    let fd = k.open("/big", O_CREAT | O_WRONLY, 0o644).unwrap();
    let chunk = k.alloc(4096);
    per_op("write 4 KiB (file grows to 2 MiB)", 512, |_| {
        k.sys(nr::WRITE, &[fd, chunk, 4096]).unwrap();
    });
    for i in 0..1000 {
        k.reset_alloc_keep(chunk + 4096);
        k.create(&format!("/a/e{i:04}"), b"");
    }
    let dir = k.open("/a", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let list = k.alloc(32 * 1024);
    per_op(
        "getdents64 of 1000 entries (32 KiB buffer, lseek 0)",
        1000,
        |_| {
            k.sys(nr::LSEEK, &[dir, 0, 0]).unwrap();
            while k.sys(nr::GETDENTS64, &[dir, list, 32 * 1024]).unwrap() > 0 {}
        },
    );
    let name = k.cstr("/a/tmp");
    per_op("mkdir + rmdir", 100_000, |_| {
        k.sys(nr::MKDIR, &[name, 0o755]).unwrap();
        k.sys(nr::RMDIR, &[name]).unwrap();
    });
}
