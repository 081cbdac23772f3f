//! Random system calls with random paths and flags, through dispatch: no input may
//! panic, and after every call the tree keeps its invariants — a directory's link
//! count is 2 + its subdirectories, each subdirectory's `..` is its parent, a
//! directory has exactly one name (no cycles), a file's link count is its number of
//! names; and once every descriptor is closed and the cwd is back at `/`, no inode is
//! alive that the tree does not reach.

use std::collections::BTreeMap;
use std::string::String;
use std::sync::Arc;

use proptest::prelude::*;

use super::inode::Inode;
use crate::abi::nr;
use crate::fs::test_kernel::{FakeKernel, CWD};

/// Mostly plain names (so calls often succeed), sometimes `.`, `..`, empty
/// components, leading and trailing slashes.
fn path() -> impl Strategy<Value = String> {
    let name = prop_oneof![Just("a"), Just("b"), Just("c")];
    let plain = proptest::collection::vec(name, 1..3).prop_map(|v| v.join("/"));
    let comp = prop_oneof![
        Just("a"),
        Just("b"),
        Just("c"),
        Just("."),
        Just(".."),
        Just("")
    ];
    let weird = (
        any::<bool>(),
        proptest::collection::vec(comp, 0..4),
        any::<bool>(),
    )
        .prop_map(|(abs, comps, slash)| {
            let mut s = String::new();
            if abs {
                s.push('/');
            }
            s.push_str(&comps.join("/"));
            if slash {
                s.push('/');
            }
            s
        });
    prop_oneof![3 => plain, 1 => weird]
}

#[derive(Clone, Debug)]
enum Call {
    Open(String, u32, u32),
    Close(u64),
    Write(u64, u8),
    Getdents(u64, u64),
    Mkdir(String),
    Rmdir(String),
    Unlink(String),
    Rename(String, String, u64),
    Symlink(String, String),
    Link(String, String),
    Chdir(String),
    Fchdir(u64),
    Truncate(String, u64),
    Readlink(String),
    Stat(String),
}

fn call() -> impl Strategy<Value = Call> {
    let flags = proptest::sample::subsequence(
        vec![
            0o1u32, 0o2, 0o100, 0o200, 0o1000, 0o2000, 0o200000, 0o400000, 0o2000000, 0o10000000,
        ],
        0..5,
    )
    .prop_map(|v| v.into_iter().fold(0, |a, b| a | b));
    prop_oneof![
        4 => (path(), flags, 0u32..0o1000).prop_map(|(p, f, m)| Call::Open(p, f, m)),
        3 => path().prop_map(|p| Call::Open(p, 0o101, 0o644)),
        2 => (0u64..8).prop_map(Call::Close),
        1 => (0u64..8, any::<u8>()).prop_map(|(f, b)| Call::Write(f, b)),
        1 => (0u64..8, 0u64..200).prop_map(|(f, n)| Call::Getdents(f, n)),
        3 => path().prop_map(Call::Mkdir),
        2 => path().prop_map(Call::Rmdir),
        2 => path().prop_map(Call::Unlink),
        3 => (path(), path(), 0u64..8).prop_map(|(a, b, f)| Call::Rename(a, b, f)),
        2 => (path(), path()).prop_map(|(a, b)| Call::Symlink(a, b)),
        1 => (path(), path()).prop_map(|(a, b)| Call::Link(a, b)),
        1 => path().prop_map(Call::Chdir),
        1 => (0u64..8).prop_map(Call::Fchdir),
        1 => (path(), 0u64..5000).prop_map(|(p, n)| Call::Truncate(p, n)),
        1 => path().prop_map(Call::Readlink),
        1 => path().prop_map(Call::Stat),
    ]
}

/// Runs one call; its result does not matter here, only what it leaves behind.
fn run(k: &mut FakeKernel, c: &Call) {
    let _ = match c {
        Call::Open(p, f, m) => k.open(p, *f, *m).map(|_| ()),
        Call::Close(fd) => k.sys(nr::CLOSE, &[*fd]).map(|_| ()),
        Call::Write(fd, b) => k.write(*fd, &[*b; 100]).map(|_| ()),
        Call::Getdents(fd, n) => k.getdents(*fd, *n).map(|_| ()),
        Call::Mkdir(p) => k.mkdir(p, 0o755).map(|_| ()),
        Call::Rmdir(p) => k.path_call(nr::RMDIR, p, &[]).map(|_| ()),
        Call::Unlink(p) => k.path_call(nr::UNLINK, p, &[]).map(|_| ()),
        Call::Rename(a, b, f) => {
            let (pa, pb) = (k.cstr(a), k.cstr(b));
            k.sys(nr::RENAMEAT2, &[CWD, pa, CWD, pb, *f]).map(|_| ())
        }
        Call::Symlink(a, b) => k.path2(nr::SYMLINK, a, b).map(|_| ()),
        Call::Link(a, b) => k.path2(nr::LINK, a, b).map(|_| ()),
        Call::Chdir(p) => k.path_call(nr::CHDIR, p, &[]).map(|_| ()),
        Call::Fchdir(fd) => k.sys(nr::FCHDIR, &[*fd]).map(|_| ()),
        Call::Truncate(p, n) => k.path_call(nr::TRUNCATE, p, &[*n]).map(|_| ()),
        Call::Readlink(p) => k.readlink(p, 16).map(|_| ()),
        Call::Stat(p) => k.stat(p).map(|_| ()),
    };
}

/// Checks the invariants below `dir`; counts names per non-directory inode and the
/// distinct inodes reached.
fn check(
    dir: &Arc<Inode>,
    names: &mut BTreeMap<u64, (Arc<Inode>, u32)>,
    dirs: &mut BTreeMap<u64, ()>,
) {
    assert!(
        dirs.insert(dir.ino, ()).is_none(),
        "directory {} reached twice",
        dir.ino
    );
    let entries = dir.entries();
    let subdirs = entries.iter().filter(|(_, n)| n.is_dir()).count();
    assert_eq!(
        dir.nlink() as usize,
        2 + subdirs,
        "link count of directory {}",
        dir.ino
    );
    for (_, node) in entries {
        if node.is_dir() {
            assert!(
                Arc::ptr_eq(&node.parent().expect("parent"), dir),
                "`..` of {}",
                node.ino
            );
            check(&node, names, dirs);
        } else {
            names.entry(node.ino).or_insert_with(|| (node.clone(), 0)).1 += 1;
        }
    }
}

fn invariants(k: &FakeKernel) -> usize {
    let mut names = BTreeMap::new();
    let mut dirs = BTreeMap::new();
    check(k.tmpfs.root(), &mut names, &mut dirs);
    for (ino, (node, count)) in &names {
        assert_eq!(node.nlink(), *count, "link count of inode {ino}");
    }
    names.len() + dirs.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn random_calls_keep_the_tree_sound(calls in proptest::collection::vec(call(), 1..60)) {
        let mut k = FakeKernel::new();
        for c in &calls {
            run(&mut k, c);
            invariants(&k);
        }
        for fd in 0..64 {
            let _ = k.sys(nr::CLOSE, &[fd]);
        }
        let root = k.cstr("/");
        k.sys(nr::CHDIR, &[root]).unwrap();
        let reached = invariants(&k);
        prop_assert_eq!(k.tmpfs.superblock().live_inodes(), reached, "orphans alive");
        prop_assert_eq!(k.tmpfs.superblock().usage().0 <= 1 << 20, true);
    }
}
