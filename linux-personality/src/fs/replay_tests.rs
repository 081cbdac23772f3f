//! The file-system contract programs (`qemu/contracts/files.c`, `paths.c`) run on the
//! host under strace; every file-system call they made is then made again, with the
//! same arguments, through dispatch on the tmpfs, and must return the same value or
//! errno. This checks the personality against Linux on the very programs the kernel
//! will run, before the kernel wires the file system.
//!
//! The host run happens in a scratch directory, preferably on a tmpfs (`/dev/shm`,
//! where Linux lists directories in creation order as this tmpfs does, so getdents64
//! byte counts match too); the fake kernel recreates that directory's path, so the
//! absolute paths in the trace mean the same on both sides. Skipped when musl-gcc or
//! strace is missing or cannot trace.

use std::format;
use std::path::PathBuf;
use std::string::String;
use std::vec::Vec;

use crate::abi::nr;
use crate::abi::Errno;
use crate::fs::test_kernel::FakeKernel;

#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(i64),
    Str(Vec<u8>),
    /// A pointer, struct or array the call wrote to: we pass our own buffer.
    Out,
    /// A string strace cut short: the call cannot be made again exactly.
    Truncated,
}

pub(super) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if s == "NULL" {
        return Some(0);
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()? as i64
    } else if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8).ok()?
    } else {
        // strace prints some negative arguments as unsigned (ftruncate's -1).
        s.parse::<i64>()
            .ok()
            .or_else(|| s.parse::<u64>().ok().map(|v| v as i64))?
    };
    Some(if neg { -v } else { v })
}

/// A strace string literal (quotes included) to bytes.
pub(super) fn unquote(s: &str) -> Option<Vec<u8>> {
    let b = s.strip_prefix('"')?.strip_suffix('"')?.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i)?;
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' => {
                let h = std::str::from_utf8(b.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Splits an argument list at top-level commas.
pub(super) fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quote, mut esc) = (0i32, false, false);
    for ch in s.chars() {
        if quote {
            cur.push(ch);
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                quote = false;
            }
            continue;
        }
        match ch {
            '"' => quote = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

pub(super) struct TraceLine {
    pub name: String,
    pub args: Vec<Arg>,
    /// Ok(value) or Err(errno name).
    pub ret: Result<i64, String>,
    pub text: String,
}

pub(super) fn parse_line(line: &str) -> Option<TraceLine> {
    let line = line.split_once(' ')?.1.trim_start();
    let open = line.find('(')?;
    let name = line[..open].to_string();
    // strace pads with spaces before " = result".
    let eq = line.rfind(" = ")?;
    let close = line[..eq].rfind(')')?;
    let args = split_args(&line[open + 1..close])
        .into_iter()
        .map(|a| {
            if a.starts_with('"') {
                unquote(&a).map(Arg::Str).unwrap_or(Arg::Truncated)
            } else {
                parse_int(&a).map(Arg::Int).unwrap_or(Arg::Out)
            }
        })
        .collect();
    let ret_text = line[eq + 3..].trim();
    let ret = if let Some(rest) = ret_text.strip_prefix("-1 ") {
        Err(rest.split_whitespace().next()?.to_string())
    } else {
        Ok(parse_int(ret_text.split_whitespace().next()?)?)
    };
    Some(TraceLine {
        name,
        args,
        ret,
        text: line.to_string(),
    })
}

/// Makes the call again on the fake kernel; None for calls that are not ours to
/// compare (memory, process, output to the terminal).
/// Which arguments of a call are user pointers.
fn pointer_args(name: &str) -> &'static [usize] {
    match name {
        "read" | "write" | "pread64" | "pwrite64" | "getdents64" | "readlink" | "stat"
        | "lstat" | "fstat" | "statfs" | "fstatfs" => &[1],
        "getcwd" | "pipe" | "pipe2" => &[0],
        "readlinkat" | "newfstatat" | "utimensat" | "sendfile" => &[2],
        "statx" => &[4],
        _ => &[],
    }
}

pub(super) fn replay(k: &mut FakeKernel, t: &TraceLine) -> Option<(Result<u64, Errno>, [u64; 6])> {
    let pointers = pointer_args(&t.name);
    let mut a = [0u64; 6];
    for (i, arg) in t.args.iter().enumerate().take(6) {
        a[i] = match arg {
            // A host user-space pointer means "a buffer": ours stands in for it. NULL
            // and addresses outside user space are passed as they are (EFAULT both).
            Arg::Int(v) if pointers.contains(&i) && *v != 0 && (*v as u64) < 0x8000_0000_0000 => {
                let at = k.alloc(4096);
                k.mem.poke(at, &[0u8; 4096]).unwrap();
                at
            }
            Arg::Int(v) => *v as u64,
            Arg::Str(s) => {
                let at = k.alloc(s.len() as u64 + 1);
                let mut b = s.clone();
                b.push(0);
                k.mem.poke(at, &b).unwrap();
                at
            }
            Arg::Out => {
                let at = k.alloc(4096);
                k.mem.poke(at, &[0u8; 4096]).unwrap();
                at
            }
            Arg::Truncated => return None,
        };
    }
    let n = match t.name.as_str() {
        "open" => nr::OPEN,
        "openat" => nr::OPENAT,
        "close" => nr::CLOSE,
        "mkdir" => nr::MKDIR,
        "mkdirat" => nr::MKDIRAT,
        "rmdir" => nr::RMDIR,
        "unlink" => nr::UNLINK,
        "unlinkat" => nr::UNLINKAT,
        "rename" => nr::RENAME,
        "renameat2" => nr::RENAMEAT2,
        "symlink" => nr::SYMLINK,
        "link" => nr::LINK,
        "readlink" => nr::READLINK,
        "chdir" => nr::CHDIR,
        "fchdir" => nr::FCHDIR,
        "getcwd" => nr::GETCWD,
        "stat" => nr::STAT,
        "lstat" => nr::LSTAT,
        "newfstatat" => nr::NEWFSTATAT,
        "fstat" => nr::FSTAT,
        "statx" => nr::STATX,
        "access" => nr::ACCESS,
        "faccessat" => nr::FACCESSAT,
        "faccessat2" => nr::FACCESSAT2,
        "getdents64" => nr::GETDENTS64,
        "lseek" => nr::LSEEK,
        "pread64" => nr::PREAD64,
        "pwrite64" => nr::PWRITE64,
        "truncate" => nr::TRUNCATE,
        "ftruncate" => nr::FTRUNCATE,
        "chmod" => nr::CHMOD,
        "fchmod" => nr::FCHMOD,
        "fsync" => nr::FSYNC,
        "fdatasync" => nr::FDATASYNC,
        "fallocate" => nr::FALLOCATE,
        "umask" => nr::UMASK,
        "fcntl" => nr::FCNTL,
        "dup" => nr::DUP,
        "sendfile" => nr::SENDFILE,
        "dup2" => nr::DUP2,
        "dup3" => nr::DUP3,
        "pipe2" => nr::PIPE2,
        "pipe" => nr::PIPE,
        "mknod" => nr::MKNOD,
        "mknodat" => nr::MKNODAT,
        "chown" => nr::CHOWN,
        "lchown" => nr::LCHOWN,
        "fchown" => nr::FCHOWN,
        "fchownat" => nr::FCHOWNAT,
        "fchmodat" => nr::FCHMODAT,
        "utimensat" => nr::UTIMENSAT,
        "readlinkat" => nr::READLINKAT,
        "symlinkat" => nr::SYMLINKAT,
        "renameat" => nr::RENAMEAT,
        "linkat" => nr::LINKAT,
        "read" => nr::READ,
        "write" => nr::WRITE,
        _ => return None,
    };
    if t.name == "utimensat" && a[2] != 0 {
        // The two timespecs, as strace printed them.
        let mut times = Vec::new();
        for part in t.text.split("tv_sec=").skip(1) {
            let sec = parse_int(part.split([',', '}']).next()?)?;
            let nsec_text = part.split("tv_nsec=").nth(1)?;
            let nsec = parse_int(nsec_text.split(['}', ',', ' ']).next()?)?;
            times.extend_from_slice(&sec.to_le_bytes());
            times.extend_from_slice(&nsec.to_le_bytes());
        }
        if times.len() == 32 {
            k.mem.poke(a[2], &times).unwrap();
        }
    }
    Some((k.sys(n, &a), a))
}

/// The value of `field=` in a strace struct dump.
pub(super) fn field(text: &str, name: &str) -> Option<i64> {
    let at = text.find(&format!("{name}="))? + name.len() + 1;
    let rest = &text[at..];
    let end = rest.find([',', '}', ' ']).unwrap_or(rest.len());
    parse_int(&rest[..end])
}

/// Compares what a successful call wrote to user memory with what strace showed.
pub(super) fn compare_output(
    k: &FakeKernel,
    t: &TraceLine,
    a: &[u64; 6],
    ret: u64,
    name: &str,
    on_tmpfs: bool,
    scratch: &str,
) {
    // Outside the scratch directory the host's tree is not ours to compare.
    let outside = t.args.iter().any(|x| matches!(x, Arg::Str(p) if p.first() == Some(&b'/') && !p.starts_with(scratch.as_bytes())));
    let stat_buf = match t.name.as_str() {
        _ if outside => None,
        "stat" | "lstat" | "fstat" => Some(a[1]),
        "newfstatat" => Some(a[2]),
        _ => None,
    };
    // `..` may climb out of the scratch directory, whose parent holds other things.
    let climbs = t
        .args
        .iter()
        .any(|x| matches!(x, Arg::Str(p) if p.windows(2).any(|w| w == b"..")));
    if let Some(buf) = stat_buf.filter(|_| !climbs) {
        let st: crate::abi::structs::Stat = crate::uaccess::read_struct(&k.mem, buf).unwrap();
        let dir = st.st_mode & 0o170000 == 0o040000;
        let mut want = vec![
            ("st_mode", i64::from(st.st_mode)),
            ("st_nlink", st.st_nlink as i64),
        ];
        if on_tmpfs || !dir {
            want.push(("st_size", st.st_size));
        }
        for (f, v) in want {
            assert_eq!(field(&t.text, f), Some(v), "{name}: {f} of {}", t.text);
        }
    }
    let data_arg = match t.name.as_str() {
        "getcwd" => Some((0, ret as usize)),
        "readlink" | "read" | "pread64" => Some((1, ret as usize)),
        _ => None,
    };
    if let Some((i, len)) = data_arg {
        if let Arg::Str(want) = &t.args[i] {
            let got = k.mem.peek(a[i], len).unwrap();
            // getcwd's string in the trace has no NUL; the call returns its length + 1.
            let want = &want[..want.len().min(len)];
            assert_eq!(&got[..want.len()], want, "{name}: data of {}", t.text);
        }
    }
    if t.name == "getdents64" && on_tmpfs {
        let bytes = k.mem.peek(a[1], ret as usize).unwrap();
        let mut ours = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let reclen = usize::from(u16::from_le_bytes([bytes[at + 16], bytes[at + 17]]));
            let name = &bytes[at + 19..at + reclen];
            ours.push(name[..name.iter().position(|&b| b == 0).unwrap()].to_vec());
            at += reclen;
        }
        let theirs: Vec<Vec<u8>> = t
            .text
            .match_indices("d_name=")
            .filter_map(|(i, _)| {
                let rest = &t.text[i + 7..];
                let end = rest[1..].find('"')? + 2;
                unquote(&rest[..end])
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: names of {}", t.text);
    }
}

fn run_contract(name: &str) -> Option<()> {
    run_contract_min(name, 100)
}

/// Runs contract program `name` and replays it; at least `min` calls must compare.
fn run_contract_min(name: &str, min: u32) -> Option<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qemu/contracts");
    let source = std::fs::read_to_string(dir.join(format!("{name}.c"))).ok()?;
    let include = format!("-I{}", dir.display());
    let exe = crate::test_support::compile_c(&format!("replay-{name}"), &source, &[&include])?;
    let run = super::busybox_replay_tests::trace_on_host(&exe, &[], None);
    if let Some(dir) = exe.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    let compared = super::busybox_replay_tests::replay_run(&run?, name)?;
    assert!(compared >= min, "{name}: only {compared} calls compared");
    std::eprintln!("{name}: {compared} calls compared");
    Some(())
}

#[test]
fn files_contract_replays_identically() {
    if run_contract("files").is_none() {
        std::eprintln!("skipped: musl-gcc or strace unavailable");
    }
}

#[test]
fn paths_contract_replays_identically() {
    if run_contract("paths").is_none() {
        std::eprintln!("skipped: musl-gcc or strace unavailable");
    }
}

/// The other contract programs that make file or descriptor calls, as far as those
/// calls go (forks included).
#[test]
fn other_contracts_replay_identically() {
    // badargs is left out: its huge lengths meet our stand-in buffers, not its own.
    for name in ["fds", "pipes", "mmapfile", "procs", "exec", "poll"] {
        if run_contract_min(name, 1).is_none() {
            std::eprintln!("{name}: skipped");
        }
    }
}
