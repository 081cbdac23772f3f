//! The root file system: a tmpfs filled from the initramfs at boot (the personality's
//! `fs` module is the file system; this wires it to the kernel: the clock, the device
//! drivers, and the standard /dev nodes when the initramfs has none).

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_personality::abi::Errno;
use linux_personality::fs::namei::Walker;
use linux_personality::fs::{mode, CpioEntry, Creds, FsContext, Tmpfs};
use spin::Once;

pub mod procsrc;

static ROOT: Once<Tmpfs> = Once::new();

fn clock() -> (i64, i64) {
    crate::time::realtime()
}

/// CLOCK_REALTIME or CLOCK_MONOTONIC (= uptime, the clock of `waits::wake_at`) in ns.
fn clock_ns(realtime: bool) -> u64 {
    if realtime {
        let (s, ns) = crate::time::realtime();
        (s as u64).saturating_mul(1_000_000_000) + ns as u64
    } else {
        crate::time::uptime_ns()
    }
}

fn current_signals(f: &mut dyn FnMut(&mut linux_personality::signal::Signals)) {
    if let Some(p) = crate::process::current() {
        // As the calling thread sees them (its own mask).
        crate::process::with_signals(&p, |s| f(s));
    }
}

pub fn init() {
    // Files whose state changes outside a system call (a pipe end closed at exit)
    // wake their waiters through the kernel's wait queues.
    linux_personality::file::set_waker(crate::waits::wake_quiet);
    // timerfd reads the clock and asks for a wake-up at its expiry from inside poll().
    linux_personality::events::set_clock(linux_personality::events::Clock {
        now_ns: clock_ns,
        wake_at: crate::waits::wake_at,
    });
    // signalfd reads and polls the current process's pending signals.
    linux_personality::events::signalfd::set_signals_hook(current_signals);
    // tmpfs may use half of the free memory, as Linux's default size= for tmpfs.
    let limit = crate::mm::frames::stats().free * crate::mm::PAGE_SIZE / 2;
    let entries: Vec<CpioEntry<'_>> = crate::initramfs::entries()
        .map(|(path, e)| CpioEntry {
            path: path.as_bytes(),
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            rdev: e.rdev,
            data: e.data,
        })
        .collect();
    let n = entries.len();
    let (fs, skipped) = Tmpfs::from_cpio_entries(entries, limit);
    fs.superblock().set_clock(clock);
    fs.superblock()
        .set_devices(Arc::new(crate::devices::Registry));
    let dev = CpioEntry {
        path: b"/dev",
        mode: mode::S_IFDIR | 0o755,
        uid: 0,
        gid: 0,
        rdev: 0,
        data: &[],
    };
    let _ = fs.insert(&dev);
    // Where devpts is mounted (`mount -t devpts devpts /dev/pts`).
    if fs
        .root()
        .child(b"dev")
        .and_then(|d| d.child(b"pts"))
        .is_none()
    {
        let _ = fs.insert(&CpioEntry {
            path: b"/dev/pts",
            ..dev
        });
    }
    let mut made = 0;
    for &(path, major, minor, perm) in crate::devices::NODES {
        if fs
            .root()
            .child(b"dev")
            .and_then(|d| d.child(&path.as_bytes()[5..]))
            .is_some()
        {
            continue;
        }
        let e = CpioEntry {
            path: path.as_bytes(),
            mode: mode::S_IFCHR | perm,
            uid: 0,
            gid: 0,
            rdev: crate::devices::rdev(major, minor),
            data: &[],
        };
        if fs.insert(&e).is_ok() {
            made += 1;
        }
    }
    for s in &skipped {
        log::warn!(
            "vfs: initramfs entry {} skipped: {}",
            core::str::from_utf8(&s.path).unwrap_or("?"),
            s.error.name()
        );
    }
    log::info!(
        "vfs: tmpfs root from {} initramfs entries ({} skipped), {} /dev nodes added, limit {} MiB",
        n,
        skipped.len(),
        made,
        limit >> 20
    );
    ROOT.call_once(|| fs);
}

pub fn root() -> &'static Tmpfs {
    ROOT.get().expect("vfs not initialised")
}

/// The file-system context of the first process: root and cwd at `/`.
pub fn initial_context() -> FsContext {
    FsContext::new(root())
}

/// Reads the whole regular file at `path` (resolved in `ctx` as `creds`), checking
/// execute permission when `exec` (what execve needs).
pub fn read_file(
    ctx: &FsContext,
    creds: &Creds,
    path: &[u8],
    exec: bool,
) -> Result<Vec<u8>, Errno> {
    let start = if path.starts_with(b"/") {
        ctx.root.clone()
    } else {
        ctx.cwd.clone()
    };
    let node = Walker::new(ctx, creds).resolve(&start, path, true)?;
    if node.is_dir() {
        return Err(Errno::EACCES);
    }
    if node.mode() & mode::S_IFMT != mode::S_IFREG {
        return Err(Errno::EACCES);
    }
    if exec {
        node.permission(creds, 1)?;
    }
    let size = node.size() as usize;
    let mut data = alloc::vec![0u8; size];
    let mut done = 0;
    while done < size {
        let n = node.read_at(done as u64, &mut data[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    data.truncate(done);
    Ok(data)
}
