//! Busybox (the host's static build) runs shell scripts of file commands on the host
//! under `strace -f`; every file-system call of every process of the script is then
//! made again on the tmpfs through dispatch, each in its own process's descriptor
//! table and context (fork copies them, exec drops close-on-exec descriptors), and
//! must return what Linux returned, with the same stat fields, data and listings.
//!
//! Files the commands read outside the scratch directory (/etc/passwd for `ls -l`,
//! /etc/localtime) are copied from the host into the tmpfs on first use, so those
//! calls see the same bytes. Skipped when busybox, strace or /dev/shm is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::string::String;
use std::vec::Vec;

use super::replay_tests::{compare_output, parse_line, replay, Arg, TraceLine};
use crate::abi::nr;
use crate::file::flags::*;
use crate::fs::test_kernel::FakeKernel;

/// Copies the host's `path` (and its parents, and a symlink's target) into the tmpfs
/// if the tmpfs lacks it.
fn mirror(k: &mut FakeKernel, path: &Path, depth: u32) {
    // The copying is the test's doing, not the traced user's.
    let creds = std::mem::replace(&mut k.creds, crate::fs::Creds::root());
    mirror_as_root(k, path, depth);
    k.creds = creds;
}

fn mirror_as_root(k: &mut FakeKernel, path: &Path, depth: u32) {
    if depth > 8 || !path.is_absolute() {
        return;
    }
    let mut cur = PathBuf::from("/");
    for comp in path.components().skip(1) {
        cur.push(comp);
        let text = cur.to_string_lossy().into_owned();
        if k.lstat(&text).is_ok() {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&cur) else {
            return;
        };
        let perm = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            let _ = k.mkdir(&text, perm);
        } else if meta.is_file() && meta.len() < 256 << 10 {
            let data = std::fs::read(&cur).unwrap_or_default();
            if let Ok(fd) = k.open(&text, O_CREAT | O_WRONLY, perm) {
                let _ = k.write(fd, &data);
                let _ = k.sys(nr::CLOSE, &[fd]);
            }
        } else if meta.file_type().is_symlink() {
            let Ok(target) = std::fs::read_link(&cur) else {
                return;
            };
            let _ = k.path2(nr::SYMLINK, &target.to_string_lossy(), &text);
            let resolved = cur.parent().unwrap_or(Path::new("/")).join(&target);
            mirror_as_root(k, &resolved, depth + 1);
        } else {
            return;
        }
        let _ = k.path_call(
            nr::LCHOWN,
            &text,
            &[u64::from(meta.uid()), u64::from(meta.gid())],
        );
    }
}

/// Joins strace's `<unfinished ...>` and `<... resumed>` halves into whole lines, in
/// the order the calls completed; returns (pid, line) pairs and the pids that had a
/// process-creating call in flight when each new pid first appeared.
fn whole_lines(trace: &str) -> Vec<(u32, String)> {
    let mut pending: BTreeMap<u32, String> = BTreeMap::new();
    let mut out = Vec::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid, String::from(head));
            // A started fork/clone is recorded now so the child can be placed.
            if head.starts_with("clone") || head.starts_with("vfork") || head.starts_with("fork") {
                out.push((pid, format!("__forking {head}")));
            }
            continue;
        }
        if let Some(tail) = rest.strip_prefix("<... ") {
            let Some((_, after)) = tail.split_once(" resumed>") else {
                continue;
            };
            let head = pending.remove(&pid).unwrap_or_default();
            out.push((pid, format!("{head}{after}")));
            continue;
        }
        out.push((pid, String::from(rest)));
    }
    out
}

/// A program's run on the host, traced: the strace log, the scratch directory it ran
/// in, that directory and its ancestors' metadata, and the user it ran as.
pub(super) struct HostRun {
    trace: String,
    base: String,
    ancestry: Vec<(String, std::fs::Metadata)>,
    user: Option<u32>,
}

/// Runs `program args` on the host under strace -f in a fresh scratch directory on
/// /dev/shm (as `user` if given, which needs root and setpriv); None if this host
/// cannot.
pub(super) fn trace_on_host(program: &Path, args: &[&str], user: Option<u32>) -> Option<HostRun> {
    let shm = PathBuf::from("/dev/shm");
    if !shm.is_dir() || Command::new("strace").arg("-V").output().is_err() {
        return None;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())?;
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch = shm.join(format!("lp-bbreplay-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir(&scratch).ok()?;
    if let Some(u) = user {
        std::os::unix::fs::chown(&scratch, Some(u), Some(u)).ok()?;
    }
    let log = scratch.with_extension("strace");
    // Descriptors the test harness let the child inherit (cargo's jobserver pipes)
    // are closed first, by a wrapper shell outside the trace: the traced shell must
    // start with only 0, 1 and 2, as the fake kernel does.
    let close_inherited: String = (3..64).map(|fd| format!("{fd}>&- ")).collect();
    let drop_privilege = match user {
        Some(u) => format!("/usr/bin/setpriv --reuid={u} --regid={u} --clear-groups"),
        None => String::new(),
    };
    let wrapper = format!("exec {close_inherited}; exec {drop_privilege} \"$@\"");
    let out = Command::new(&busybox)
        .args([
            "sh", "-c", &wrapper, "sh", "strace", "-f", "-v", "-X", "raw", "-s", "65536", "-o",
        ])
        .arg(&log)
        .arg(program)
        .args(args)
        .current_dir(&scratch)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let trace = std::fs::read_to_string(&log).ok();
    // The scratch directory and its ancestors as the host has them (`..` reaches them).
    let ancestry: Vec<(String, std::fs::Metadata)> = scratch
        .ancestors()
        .filter_map(|a| Some((a.to_string_lossy().into_owned(), std::fs::metadata(a).ok()?)))
        .collect();
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_dir_all(&scratch);
    if !out.status.success() {
        return None;
    }
    Some(HostRun {
        trace: trace?,
        base: scratch.to_str()?.to_string(),
        ancestry,
        user,
    })
}

/// Replays a host run on a fake kernel set up as the host was; returns how many calls
/// were compared. Any difference fails the test.
pub(super) fn replay_run(run: &HostRun, label: &str) -> Option<u32> {
    let (trace, base, ancestry, user) = (&run.trace, &run.base, &run.ancestry, run.user);

    let mut k = FakeKernel::new();
    let mut path = String::new();
    for comp in base.split('/').filter(|c| !c.is_empty()) {
        path.push('/');
        path.push_str(comp);
        k.mkdir(&path, 0o755).unwrap();
    }
    for (text, meta) in ancestry {
        let mode = u64::from(meta.permissions().mode() & 0o7777);
        k.path_call(nr::CHMOD, text, &[mode]).unwrap();
        k.path_call(
            nr::CHOWN,
            text,
            &[u64::from(meta.uid()), u64::from(meta.gid())],
        )
        .unwrap();
    }
    k.path_call(nr::CHDIR, &path, &[]).unwrap();
    k.std_streams_on_null();
    k.sys(nr::UMASK, &[0o022]).unwrap();
    if let Some(u) = user {
        k.creds = crate::fs::Creds::user(u, u);
    }

    let lines = whole_lines(trace);
    let first = lines.first()?.0;
    k.pid = first;
    let mut known: BTreeSet<u32> = BTreeSet::from([first]);
    let mut forking: Vec<u32> = Vec::new();
    // Descriptors opened on paths outside the scratch directory, per process: their
    // calls are made (to keep offsets and numbering) but not compared.
    let mut foreign: BTreeMap<u32, BTreeSet<i64>> = BTreeMap::new();
    // The host's standard streams were /dev/null and pipes to the test: not ours.
    foreign.insert(first, BTreeSet::from([0, 1, 2]));
    let mut compared = 0;
    let mut blocked: Vec<(u32, TraceLine, bool)> = Vec::new();
    for (pid, text) in lines {
        retry_blocked(&mut k, &mut blocked, &mut compared, label, base);
        if let Some(head) = text.strip_prefix("__forking ") {
            let _ = head;
            forking.push(pid);
            continue;
        }
        if !known.contains(&pid) {
            // A child that ran before its parent's fork returned.
            let parent = forking.pop().unwrap_or(first);
            assert!(k.switch_to(parent));
            k.fork_proc(pid).unwrap();
            known.insert(pid);
            let f = foreign.get(&parent).cloned().unwrap_or_default();
            foreign.insert(pid, f);
        }
        assert!(k.switch_to(pid), "unknown process {pid}");
        k.reset_alloc();
        // The kernel closes the descriptors at exit_group, before strace reports the
        // exit: readers of a pipe may see EOF in between.
        if text.starts_with("exit_group(") || text.starts_with("exit(") || text.starts_with("+++") {
            k.exit_proc(pid);
            continue;
        }
        let Some(t) = parse_line(&format!("{pid} {text}")) else {
            continue;
        };
        match t.name.as_str() {
            "clone" | "clone3" | "fork" | "vfork" => {
                forking.retain(|p| *p != pid);
                if let Ok(child) = t.ret {
                    let child = child as u32;
                    if child > 0 && !known.contains(&child) {
                        k.fork_proc(child).unwrap();
                        known.insert(child);
                        let f = foreign.get(&pid).cloned().unwrap_or_default();
                        foreign.insert(child, f);
                    }
                }
                continue;
            }
            "execve" if t.ret == Ok(0) => {
                k.exec_proc();
                continue;
            }
            _ => {}
        }
        // /proc and /sys are not in a tmpfs: a descriptor the host opened there is a
        // placeholder here (so numbering stays the same), other calls are not made.
        let kernel_fs = t
            .args
            .iter()
            .any(|a| matches!(a, Arg::Str(p) if p.starts_with(b"/proc") || p.starts_with(b"/sys")));
        if kernel_fs {
            if t.name.starts_with("open") {
                if let Ok(fd) = t.ret {
                    let got = k.open("/dev/null", O_RDONLY, 0).unwrap();
                    assert_eq!(got as i64, fd, "placeholder for {}", t.text);
                    foreign.entry(pid).or_default().insert(fd);
                }
            }
            continue;
        }
        let outside = t.args.iter().any(|a| matches!(a, Arg::Str(p) if p.first() == Some(&b'/') && !p.starts_with(base.as_bytes())));
        if outside {
            for a in &t.args {
                if let Arg::Str(p) = a {
                    mirror(&mut k, Path::new(&*String::from_utf8_lossy(p)), 0);
                }
            }
        }
        let fd_arg = match t.args.first() {
            Some(Arg::Int(v)) => Some(*v),
            _ => None,
        };
        let on_foreign =
            fd_arg.is_some_and(|fd| foreign.get(&pid).is_some_and(|s| s.contains(&fd)));
        let Some((got, addrs)) = replay(&mut k, &t) else {
            continue;
        };
        if got == Err(crate::abi::Errno::EINTR) && t.ret.is_ok() && t.name == "read" {
            // strace reported this read before the write that fed it: try again after
            // the following lines.
            blocked.push((pid, t, on_foreign));
            continue;
        }
        if outside && t.name.starts_with("open") {
            if let Ok(fd) = got {
                foreign.entry(pid).or_default().insert(fd as i64);
            }
        }
        if t.name == "close" {
            if let Some(fd) = fd_arg {
                foreign.entry(pid).or_default().remove(&fd);
            }
        }
        // A duplicate is foreign exactly when its original is.
        let new_fd = match (t.name.as_str(), &t.args.get(1), got) {
            ("dup2" | "dup3", Some(Arg::Int(new)), Ok(_)) => Some(*new),
            ("dup", _, Ok(fd)) | ("fcntl", Some(Arg::Int(0 | 0x406)), Ok(fd)) => Some(fd as i64),
            _ => None,
        };
        if let Some(new) = new_fd {
            let set = foreign.entry(pid).or_default();
            if on_foreign {
                set.insert(new);
            } else {
                set.remove(&new);
            }
        }
        if on_foreign {
            continue;
        }
        compared += 1;
        let got_cmp = got.map(|v| v as i64).map_err(|e| String::from(e.name()));
        assert_eq!(got_cmp, t.ret, "{label}: pid {pid}: {}", t.text);
        if let Ok(v) = got {
            if !outside {
                compare_output(&k, &t, &addrs, v, label, true, base);
            }
        }
    }
    retry_blocked(&mut k, &mut blocked, &mut compared, label, base);
    assert!(
        blocked.is_empty(),
        "{label}: reads that never got their data"
    );
    std::eprintln!("{compared} calls compared");
    Some(compared)
}

/// Runs `script` under busybox sh on the host and replays it.
fn run_script(script: &str, user: Option<u32>) -> Option<u32> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())?;
    let run = trace_on_host(&busybox, &["sh", "-c", script], user)?;
    replay_run(&run, script)
}

/// Makes the deferred reads again; those that now complete are compared.
fn retry_blocked(
    k: &mut FakeKernel,
    blocked: &mut Vec<(u32, TraceLine, bool)>,
    compared: &mut u32,
    script: &str,
    base: &str,
) {
    let mut still = Vec::new();
    for (pid, t, on_foreign) in blocked.drain(..) {
        assert!(k.switch_to(pid));
        k.reset_alloc();
        let Some((got, addrs)) = replay(k, &t) else {
            continue;
        };
        if got == Err(crate::abi::Errno::EINTR) {
            still.push((pid, t, on_foreign));
            continue;
        }
        if on_foreign {
            continue;
        }
        *compared += 1;
        let got_cmp = got.map(|v| v as i64).map_err(|e| String::from(e.name()));
        assert_eq!(got_cmp, t.ret, "{script}: pid {pid}: {}", t.text);
        if let Ok(v) = got {
            compare_output(k, &t, &addrs, v, script, true, base);
        }
    }
    *blocked = still;
}

fn check_as_user(script: &str) {
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !root
        || Command::new("/usr/bin/setpriv")
            .arg("--version")
            .output()
            .is_err()
    {
        std::eprintln!("skipped: needs root, setpriv, busybox, strace and /dev/shm");
        return;
    }
    match run_script(script, Some(65534)) {
        Some(n) => assert!(n > 20, "{script}: only {n} calls compared"),
        None => std::eprintln!("skipped: needs busybox, strace and /dev/shm"),
    }
}

fn check(script: &str) {
    match run_script(script, None) {
        Some(n) => assert!(n > 20, "{script}: only {n} calls compared"),
        None => std::eprintln!("skipped: busybox, strace or /dev/shm unavailable"),
    }
}

#[test]
fn busybox_tree_commands() {
    check("mkdir -p a/b/c && echo hi > a/f && ln -s f a/l && ln a/f a/hard && mv a/b a/moved && touch a/t && chmod 600 a/t && ls -laR a && find . && readlink a/l && rm -rf a && ls -la");
}

#[test]
fn busybox_reads_and_listings() {
    check("mkdir d && for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i >> d/file$i; done; wc -l d/file3; head -n 1 d/file12; ls d | sort; du -s d; stat -c '%s %h %F' d/file1 d; rm d/file1 && rmdir d || ls d");
}

#[test]
fn busybox_more_commands() {
    check("mkdir -p x/y && cd x && pwd && touch -d '2020-01-02 03:04:05' y/t && ls -l --full-time y && chmod -R go-rx y && ls -ld y && ln -sf y/t lt && ln -sf y/t lt && realpath lt && test -d y && test -e lt && test ! -e nope && [ -x y ] && echo ok; dd if=/dev/zero of=z bs=100 count=3 2>/dev/null; truncate -s 50 z; wc -c z; mv z y/; find . -type f | sort; find . -name 't*' | sort; cd .. && rm -r x && ls");
}

#[test]
fn busybox_copy_commands() {
    check("echo hello > a && cp a b && cat b && cp -a a c && cat a b c > d && wc -c d && tail -c 4 d && sort -r d -o e && cmp d d && md5sum e && tar cf t.tar a b && mkdir u && tar xf t.tar -C u && ls -l u");
}

#[test]
fn busybox_permissions_as_a_user() {
    check_as_user("mkdir d && echo x > d/f && chmod 000 d && ls d; cat d/f; test -r d/f || echo no; chmod 700 d && chmod 000 d/f && cat d/f; echo y >> d/f; rm -f d/f && ls -la d; mkdir e && chmod 500 e && touch e/x; mkdir e/y; rmdir e; chmod 700 e; ln -s /etc/passwd p && head -c 4 p; chmod 4755 d; ls -ld d; true");
}

#[test]
fn busybox_issue_acceptance_pipeline() {
    check("ls / | wc -l; echo $((6*7)); cat /etc/passwd | grep root");
}

fn command() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let name = prop_oneof![
        Just("a"),
        Just("b"),
        Just("c"),
        Just("a/b"),
        Just("b/c"),
        Just("c/a/b")
    ];
    let cmd = prop_oneof![
        Just("mkdir -p"),
        Just("mkdir"),
        Just("touch"),
        Just("rm -f"),
        Just("rm -rf"),
        Just("rmdir"),
        Just("cat"),
        Just("ls -la"),
        Just("stat -c '%a %h %s %F'"),
        Just("chmod 751"),
        Just("chmod 600"),
        Just("readlink"),
        Just("test -d"),
    ];
    let two = prop_oneof![
        Just("mv"),
        Just("cp"),
        Just("cp -a"),
        Just("ln -s"),
        Just("ln"),
        Just("ln -sf")
    ];
    prop_oneof![
        3 => (cmd, name.clone()).prop_map(|(c, n)| format!("{c} {n}")),
        2 => (two, name.clone(), name.clone()).prop_map(|(c, a, b)| format!("{c} {a} {b}")),
        1 => (name.clone(), any::<u8>()).prop_map(|(n, v)| format!("echo {v} >> {n}")),
        1 => Just(String::from("find . | sort")),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..proptest::prelude::ProptestConfig::default() })]

    /// Random scripts of file commands (most fail in interesting ways).
    #[test]
    fn busybox_random_scripts(cmds in proptest::collection::vec(command(), 1..25)) {
        let script = format!("{}; true", cmds.join("; "));
        // Short scripts make few calls; any mismatch fails inside run_script.
        let _ = run_script(&script, None);
    }
}
