//! Differential test against the host's Linux: the same random sequence of mkdir,
//! rmdir, unlink, rename, symlink, link, open(O_CREAT[|O_EXCL]), stat, lstat and
//! readlink runs in a scratch directory of the host file system (through std, which
//! makes exactly these system calls) and in the tmpfs through dispatch; every result
//! must be the same — the same errno for every failure, the same type, link count and
//! size for every stat. Paths mix plain names with `.`, empty components and trailing
//! slashes and `..` that never climbs above the scratch directory; symlink targets
//! are relative names, so both trees mean the same by them.
//!
//! The tmpfs side runs with the test process's own uid, gid and umask, and its `/`
//! takes the mode and owner of the host's temp directory, so permissions compare too:
//! as root they mostly pass, as a user (run the test binary under
//! `setpriv --reuid=65534 --regid=65534 --clear-groups ... same_results`) every random
//! chmod that takes away a search or write bit is checked against the host's EACCES.
//!
//! Skipped (passes trivially) when the host directory cannot play its part: a file
//! system that refuses directory renames (overlayfs answers EXDEV).

use std::format;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::string::String;
use std::sync::atomic::{AtomicU32, Ordering};
use std::vec::Vec;

use proptest::prelude::*;

use crate::abi::nr;
use crate::abi::Errno;
use crate::file::flags::*;
use crate::fs::mode::*;
use crate::fs::test_kernel::FakeKernel;
use crate::fs::Creds;

/// A relative path that never climbs above where it starts (`..` that would is
/// turned into `.`), so the host's scratch directory and the tmpfs's `/w` stay
/// equivalent whatever the path or symlink target.
fn path() -> impl Strategy<Value = String> {
    let comp = prop_oneof![
        4 => Just("a"),
        4 => Just("b"),
        3 => Just("c"),
        1 => Just("."),
        1 => Just(".."),
        1 => Just(""),
    ];
    (
        proptest::collection::vec(comp, 1..4),
        proptest::bool::weighted(0.15),
    )
        .prop_map(|(c, slash)| {
            let mut depth = 0i32;
            let comps: Vec<&str> = c
                .into_iter()
                .map(|x| match x {
                    ".." if depth == 0 => ".",
                    ".." => {
                        depth -= 1;
                        x
                    }
                    "." | "" => x,
                    _ => {
                        depth += 1;
                        x
                    }
                })
                .collect();
            let mut s = comps.join("/");
            if slash {
                s.push('/');
            }
            s
        })
}

/// A symlink target: names only, so a link always leads below its own directory and
/// no path can climb out of the scratch directory through links (with `.` or `..` in
/// targets, `c -> .` then `c/..` would reach the host's /tmp).
fn target() -> impl Strategy<Value = String> {
    let name = prop_oneof![Just("a"), Just("b"), Just("c")];
    (
        proptest::collection::vec(name, 1..3),
        proptest::bool::weighted(0.15),
    )
        .prop_map(|(c, slash)| {
            let mut s = c.join("/");
            if slash {
                s.push('/');
            }
            s
        })
}

#[derive(Clone, Debug)]
enum Op {
    Mkdir(String),
    Rmdir(String),
    Unlink(String),
    Rename(String, String),
    Symlink(String, String),
    Link(String, String),
    CreateNew(String),
    Create(String),
    Stat(String),
    Lstat(String),
    Readlink(String),
    /// open with an access mode (0, 1, 2) and extra flags.
    Open(String, u32, u32),
    ReadDir(String),
    Chmod(String, u32),
    Truncate(String, u64),
}

fn open_flags() -> impl Strategy<Value = u32> {
    let all = vec![
        O_CREAT,
        O_EXCL,
        O_TRUNC,
        O_DIRECTORY,
        O_NOFOLLOW,
        O_APPEND,
        O_PATH,
    ];
    proptest::sample::subsequence(all, 0..4).prop_map(|v| v.into_iter().fold(0, |a, b| a | b))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => path().prop_map(Op::Mkdir),
        2 => path().prop_map(Op::Rmdir),
        2 => path().prop_map(Op::Unlink),
        4 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        2 => (target(), path()).prop_map(|(t, a)| Op::Symlink(t, a)),
        2 => (path(), path()).prop_map(|(a, b)| Op::Link(a, b)),
        3 => path().prop_map(Op::CreateNew),
        2 => path().prop_map(Op::Create),
        2 => path().prop_map(Op::Stat),
        2 => path().prop_map(Op::Lstat),
        1 => path().prop_map(Op::Readlink),
        4 => (path(), 0u32..3, open_flags()).prop_map(|(p, a, f)| Op::Open(p, a, f)),
        2 => path().prop_map(Op::ReadDir),
        1 => (path(), 0u32..0o10000).prop_map(|(p, m)| Op::Chmod(p, m)),
        1 => (path(), 0u64..100).prop_map(|(p, n)| Op::Truncate(p, n)),
    ]
}

/// What a call observed: an errno, or what stat/readlink saw (type, nlink, size of
/// non-directories; the link's target).
type Outcome = Result<String, i32>;

fn host_err(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

fn describe(mode: u32, nlink: u64, size: u64) -> String {
    let perm = mode & 0o7777;
    match mode & S_IFMT {
        S_IFDIR => format!("dir {perm:o}"),
        S_IFREG => format!("file {perm:o} nlink={nlink} size={size}"),
        S_IFLNK => format!("link {perm:o} nlink={nlink} size={size}"),
        t => format!("type {t:o}"),
    }
}

fn on_host(base: &str, op: &Op) -> Outcome {
    let p = |s: &String| PathBuf::from(format!("{base}/{s}"));
    let unit = |r: std::io::Result<()>| r.map(|_| String::new()).map_err(host_err);
    match op {
        Op::Mkdir(a) => unit(fs::create_dir(p(a))),
        Op::Rmdir(a) => unit(fs::remove_dir(p(a))),
        Op::Unlink(a) => unit(fs::remove_file(p(a))),
        Op::Rename(a, b) => unit(fs::rename(p(a), p(b))),
        Op::Symlink(t, a) => unit(std::os::unix::fs::symlink(t, p(a))),
        Op::Link(a, b) => unit(fs::hard_link(p(a), p(b))),
        Op::CreateNew(a) => unit(fs::File::create_new(p(a)).map(drop)),
        Op::Create(a) => unit(
            // open(O_WRONLY|O_CREAT) keeping the contents, as the tmpfs side does.
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(p(a))
                .map(drop),
        ),
        Op::Stat(a) | Op::Lstat(a) => {
            let m = if matches!(op, Op::Stat(_)) {
                fs::metadata(p(a))
            } else {
                fs::symlink_metadata(p(a))
            };
            m.map(|m| describe(m.mode(), m.nlink(), m.size()))
                .map_err(host_err)
        }
        Op::Readlink(a) => fs::read_link(p(a))
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(host_err),
        Op::Open(a, acc, flags) => {
            use std::os::unix::fs::OpenOptionsExt;
            let mut o = fs::OpenOptions::new();
            // std takes the access mode from read/write and masks it out of the flags.
            o.read(*acc != 1)
                .write(*acc != 0)
                .custom_flags(*flags as i32)
                .mode(0o666);
            unit(o.open(p(a)).map(drop))
        }
        Op::ReadDir(a) => fs::read_dir(p(a))
            .and_then(|rd| {
                let mut v: Vec<String> = rd
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<Result<_, _>>()?;
                v.sort();
                Ok(v.join(","))
            })
            .map_err(host_err),
        Op::Chmod(a, m) => {
            use std::os::unix::fs::PermissionsExt;
            unit(fs::set_permissions(p(a), fs::Permissions::from_mode(*m)))
        }
        Op::Truncate(a, n) => unit(
            fs::OpenOptions::new()
                .write(true)
                .open(p(a))
                .and_then(|f| f.set_len(*n)),
        ),
    }
}

fn on_tmpfs(k: &mut FakeKernel, op: &Op) -> Outcome {
    let p = |s: &String| format!("/w/{s}");
    let unit = |r: Result<u64, Errno>| r.map(|_| String::new()).map_err(|e| e.code());
    match op {
        Op::Mkdir(a) => unit(k.mkdir(&p(a), 0o777)),
        Op::Rmdir(a) => unit(k.path_call(nr::RMDIR, &p(a), &[])),
        Op::Unlink(a) => unit(k.path_call(nr::UNLINK, &p(a), &[])),
        Op::Rename(a, b) => unit(k.path2(nr::RENAME, &p(a), &p(b))),
        Op::Symlink(t, a) => unit(k.path2(nr::SYMLINK, t, &p(a))),
        Op::Link(a, b) => {
            let (pa, pb) = (k.cstr(&p(a)), k.cstr(&p(b)));
            unit(k.sys(nr::LINKAT, &[-100i64 as u64, pa, -100i64 as u64, pb, 0]))
        }
        Op::CreateNew(a) | Op::Create(a) => {
            let excl = if matches!(op, Op::CreateNew(_)) {
                O_EXCL
            } else {
                0
            };
            let r = k.open(&p(a), O_WRONLY | O_CREAT | O_CLOEXEC | excl, 0o666);
            if let Ok(fd) = r {
                k.sys(nr::CLOSE, &[fd]).unwrap();
            }
            unit(r)
        }
        Op::Stat(a) | Op::Lstat(a) => {
            let st = if matches!(op, Op::Stat(_)) {
                k.stat(&p(a))
            } else {
                k.lstat(&p(a))
            };
            st.map(|s| describe(s.st_mode, s.st_nlink, s.st_size as u64))
                .map_err(|e| e.code())
        }
        Op::Readlink(a) => k
            .readlink(&p(a), 4096)
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .map_err(|e| e.code()),
        Op::Open(a, acc, flags) => {
            let r = k.open(&p(a), acc | flags | O_CLOEXEC, 0o666);
            if let Ok(fd) = r {
                k.sys(nr::CLOSE, &[fd]).unwrap();
            }
            unit(r)
        }
        Op::ReadDir(a) => {
            let fd = k
                .open(&p(a), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
                .map_err(|e| e.code())?;
            let mut names = Vec::new();
            loop {
                let part = k.getdents(fd, 256).map_err(|e| e.code())?;
                if part.is_empty() {
                    break;
                }
                names.extend(
                    part.into_iter()
                        .map(|(n, _)| n)
                        .filter(|n| n != "." && n != ".."),
                );
            }
            k.sys(nr::CLOSE, &[fd]).unwrap();
            names.sort();
            Ok(names.join(","))
        }
        Op::Chmod(a, m) => unit(k.path_call(nr::CHMOD, &p(a), &[u64::from(*m)])),
        Op::Truncate(a, n) => {
            let fd = k
                .open(&p(a), O_WRONLY | O_CLOEXEC, 0)
                .map_err(|e| e.code())?;
            let r = k.sys(nr::FTRUNCATE, &[fd, *n]);
            k.sys(nr::CLOSE, &[fd]).unwrap();
            unit(r)
        }
    }
}

static CASE: AtomicU32 = AtomicU32::new(0);

/// remove_dir_all after giving back the permissions random chmods took away.
fn force_remove(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = fs::symlink_metadata(dir) {
        if m.is_dir() {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
            if let Ok(rd) = fs::read_dir(dir) {
                for e in rd.flatten() {
                    force_remove(&e.path());
                }
            }
        }
    }
    let _ = fs::remove_dir_all(dir).or_else(|_| fs::remove_file(dir));
}

/// A fresh scratch directory on the host, or None if this host cannot take part.
fn host_dir() -> Option<(PathBuf, u32, u32, u32)> {
    let n = CASE.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lp-fsdiff-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).ok()?;
    // Directory renames must work here (overlayfs may answer EXDEV).
    fs::create_dir(dir.join("probe")).ok()?;
    let renamed = fs::rename(dir.join("probe"), dir.join("probe2"));
    let _ = fs::remove_dir(dir.join("probe2"));
    let _ = fs::remove_dir(dir.join("probe"));
    if renamed.is_err() {
        let _ = fs::remove_dir_all(&dir);
        return None;
    }
    let meta = fs::metadata(&dir).ok()?;
    // The test process's umask, from what it does to a 0777 directory.
    fs::create_dir(dir.join("umask")).ok()?;
    let umask = !fs::metadata(dir.join("umask")).ok()?.mode() & 0o777;
    fs::remove_dir(dir.join("umask")).ok()?;
    Some((dir, meta.uid(), meta.gid(), umask))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn same_results_as_the_host(ops in proptest::collection::vec(op(), 1..40)) {
        let Some((dir, uid, gid, umask)) = host_dir() else { return Ok(()) };
        let base = dir.to_string_lossy().into_owned();
        let mut k = FakeKernel::new();
        k.mkdir("/w", 0o777).unwrap();
        k.path_call(nr::CHOWN, "/w", &[u64::from(uid), u64::from(gid)]).unwrap();
        k.umask_to(umask);
        // `/` plays the host's temp directory (sticky and world-writable, usually),
        // which rmdir and rename of the scratch directory itself consult.
        if let Some(parent) = dir.parent().and_then(|p| fs::metadata(p).ok()) {
            k.path_call(nr::CHMOD, "/", &[u64::from(parent.mode() & 0o7777)]).unwrap();
            k.path_call(nr::CHOWN, "/", &[u64::from(parent.uid()), u64::from(parent.gid())]).unwrap();
        }
        // Run as whoever runs the test: the host checks that user's permissions.
        if uid != 0 {
            k.creds = Creds::user(uid, gid);
        }
        let mut result = Ok(());
        for op in &ops {
            let host = on_host(&base, op);
            let ours = on_tmpfs(&mut k, op);
            if host != ours {
                result = Err(TestCaseError::fail(format!("{op:?}: host {host:?}, tmpfs {ours:?}")));
                break;
            }
        }
        force_remove(&dir);
        result?;
    }
}

#[test]
fn host_kind_errors_are_what_std_reports() {
    // The comparison above relies on std passing paths through unchanged (a trailing
    // slash included) and reporting raw errnos.
    let Some((dir, _, _, _)) = host_dir() else {
        return;
    };
    let f = dir.join("f");
    fs::File::create_new(&f).unwrap();
    let slash = PathBuf::from(format!("{}/", f.display()));
    let e = fs::metadata(&slash).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(Errno::ENOTDIR.code()));
    assert_eq!(
        fs::create_dir(&f).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    let _ = fs::remove_dir_all(&dir);
}
