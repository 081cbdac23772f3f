//! The kernel's facts for procfs: the personality's [`ProcSource`], answered from
//! the process table, address spaces, CSpaces and clocks, plus what Linux keeps of an
//! exec that Writ's `Process` does not (the executable's path, argv, environment, the
//! start time), recorded here at fork and exec.
//!
//! Locks: a process's `files` before the capability system (as the system-call path
//! takes them); another process's `fs` only with try_lock, since a process holds its
//! own for a whole system call and may be blocked in one.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use caps::Rights;
use linux_personality::file::OpenFile;
use linux_personality::fs::proc::{MapEntry, ProcInfo, ProcSource, SystemInfo};
use linux_personality::fs::FsContext;
use spin::Mutex;

use crate::process::{self, Process};

/// What an exec left behind, by pid.
#[derive(Clone, Default)]
struct ExecFacts {
    exe: Option<Vec<u8>>,
    cmdline: Vec<u8>,
    environ: Vec<u8>,
    start_ns: u64,
}

static FACTS: Mutex<BTreeMap<u32, ExecFacts>> = Mutex::new(BTreeMap::new());

fn joined(strings: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.extend_from_slice(s);
        out.push(0);
    }
    out
}

/// Records a successful exec of `exe` (the resolved path) with its arguments.
pub fn record_exec(pid: u32, exe: Option<Vec<u8>>, argv: &[&[u8]], envp: &[&[u8]]) {
    let mut f = FACTS.lock();
    let start_ns = f
        .get(&pid)
        .map_or_else(crate::time::uptime_ns, |e| e.start_ns);
    // Forget processes that are gone (pids are never reused).
    f.retain(|p, _| process::by_pid(*p).is_some());
    f.insert(
        pid,
        ExecFacts {
            exe,
            cmdline: joined(argv),
            environ: joined(envp),
            start_ns,
        },
    );
}

/// A fork: the child shows the parent's program until it execs.
pub fn record_fork(parent: u32, child: u32) {
    let mut f = FACTS.lock();
    // The child may have run and exec'd already: then its own facts stand.
    if f.contains_key(&child) {
        return;
    }
    let mut facts = f.get(&parent).cloned().unwrap_or_default();
    facts.start_ns = crate::time::uptime_ns();
    f.insert(child, facts);
}

pub struct KernelProc;

/// The process `pid` as /proc sees it: alive, or a zombie its parent has not reaped
/// (a reaped process can outlive its wait4 in the table while references drain).
fn visible(pid: u32) -> Option<Arc<Process>> {
    let p = process::by_pid(pid)?;
    if p.has_exited()
        && p.ppid() != 0
        && !process::by_pid(p.ppid()).is_some_and(|pp| pp.has_child(pid))
    {
        return None;
    }
    Some(p)
}

fn ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

impl KernelProc {
    fn info(p: &Arc<Process>) -> ProcInfo {
        let facts = FACTS.lock().get(&p.pid).cloned().unwrap_or_default();
        let me = process::current().is_some_and(|c| c.pid == p.pid);
        let state = if p.has_exited() {
            b'Z'
        } else if me {
            b'R'
        } else {
            b'S'
        };
        let (vsize, rss) = {
            let mm = p.mm.lock();
            let v: u64 = mm.aspace.regions().iter().map(|r| r.1 - r.0).sum();
            (v, mm.aspace.pages() as u64)
        };
        let (pending, blocked, ignored, caught) = {
            let s = p.signals.lock();
            let mut ign = 0u64;
            let mut cgt = 0u64;
            for (i, a) in s.actions.iter().enumerate().skip(1).take(64) {
                let bit = 1u64 << (i - 1);
                match a.handler {
                    0 => {}
                    1 => ign |= bit,
                    _ => cgt |= bit,
                }
            }
            (s.pending, p.main_thread_mask(), ign, cgt)
        };
        let comm = p.name().into_bytes();
        // The console, or the pseudo-terminal the session's leader took (TIOCSCTTY).
        let tty = match crate::console::controlling() {
            (sid, fg) if sid != 0 && sid == p.sid() => (crate::console::TTY_NR, fg as i32),
            _ => match linux_personality::pty::controlling_of(p.sid()) {
                Some((n, fg)) => (
                    linux_personality::fs::devpts::pts_dev(n) as u32,
                    if fg == 0 { -1 } else { fg as i32 },
                ),
                None => (0, -1),
            },
        };
        let cmdline = if facts.cmdline.is_empty() {
            // A process nobody exec'd (kernel threads have none, Linux shows empty).
            Vec::new()
        } else {
            facts.cmdline
        };
        let mut threads = p.tids();
        if threads.is_empty() {
            threads.push(p.pid);
        }
        ProcInfo {
            pid: p.pid,
            ppid: p.ppid(),
            pgid: p.pgid(),
            sid: p.sid(),
            tty_nr: tty.0,
            tpgid: tty.1,
            state,
            comm,
            cmdline,
            environ: facts.environ,
            exe: facts.exe,
            ids: p.ids.lock().clone(),
            threads,
            // Timer ticks are USER_HZ ticks (both 100 Hz).
            utime: p.cpu.user.load(core::sync::atomic::Ordering::Relaxed),
            stime: p.cpu.sys.load(core::sync::atomic::Ordering::Relaxed),
            start_time: ticks(facts.start_ns),
            vsize,
            rss_pages: rss,
            sig_pending: pending,
            nice: p.nice.load(core::sync::atomic::Ordering::Relaxed),
            sig_blocked: blocked,
            sig_ignored: ignored,
            sig_caught: caught,
            umask: p.fs.try_lock().map_or(0o022, |f| f.umask),
        }
    }
}

/// CPUID's vendor, family/model/stepping and brand string.
fn cpu_ident() -> (Vec<u8>, u32, u32, u32, Vec<u8>) {
    use core::arch::x86_64::__cpuid;
    let r0 = __cpuid(0);
    let mut vendor = Vec::new();
    for w in [r0.ebx, r0.edx, r0.ecx] {
        vendor.extend_from_slice(&w.to_le_bytes());
    }
    let r1 = __cpuid(1);
    let base_family = (r1.eax >> 8) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((r1.eax >> 20) & 0xff)
    } else {
        base_family
    };
    let model = ((r1.eax >> 4) & 0xf) | (((r1.eax >> 16) & 0xf) << 4);
    let stepping = r1.eax & 0xf;
    let mut name = Vec::new();
    let max_ext = __cpuid(0x8000_0000).eax;
    if max_ext >= 0x8000_0004 {
        for leaf in 0x8000_0002..=0x8000_0004u32 {
            let r = __cpuid(leaf);
            for w in [r.eax, r.ebx, r.ecx, r.edx] {
                name.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    while name.last() == Some(&0) || name.last() == Some(&b' ') {
        name.pop();
    }
    (vendor, family, model, stepping, name)
}

/// Linux's names of the CPUID leaf 1 EDX/ECX features Writ's programs look for.
fn cpu_flags() -> Vec<u8> {
    use core::arch::x86_64::__cpuid;
    let r = __cpuid(1);
    let edx: &[(u32, &str)] = &[
        (0, "fpu"),
        (4, "tsc"),
        (5, "msr"),
        (6, "pae"),
        (8, "cx8"),
        (9, "apic"),
        (11, "sep"),
        (13, "pge"),
        (15, "cmov"),
        (16, "pat"),
        (19, "clflush"),
        (23, "mmx"),
        (24, "fxsr"),
        (25, "sse"),
        (26, "sse2"),
    ];
    let ecx: &[(u32, &str)] = &[
        (0, "pni"),
        (9, "ssse3"),
        (13, "cx16"),
        (19, "sse4_1"),
        (20, "sse4_2"),
        (23, "popcnt"),
        (26, "xsave"),
        (28, "avx"),
        (30, "rdrand"),
        (31, "hypervisor"),
    ];
    let mut out: Vec<&str> = Vec::new();
    out.extend(
        edx.iter()
            .filter(|(b, _)| r.edx & (1 << b) != 0)
            .map(|(_, n)| *n),
    );
    out.push("syscall");
    out.push("nx");
    out.push("lm");
    out.extend(
        ecx.iter()
            .filter(|(b, _)| r.ecx & (1 << b) != 0)
            .map(|(_, n)| *n),
    );
    out.join(" ").into_bytes()
}

impl ProcSource for KernelProc {
    fn caller(&self) -> (u32, u32) {
        match process::current_thread() {
            Some(t) => (t.proc.pid, t.tid),
            None => (0, 0),
        }
    }

    fn pids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = process::all()
            .iter()
            .map(|p| p.pid)
            .filter(|p| visible(*p).is_some())
            .collect();
        v.sort_unstable();
        v
    }

    fn proc_info(&self, pid: u32) -> Option<ProcInfo> {
        visible(pid).map(|p| Self::info(&p))
    }

    fn vm_maps(&self, pid: u32) -> Vec<MapEntry> {
        let Some(p) = process::by_pid(pid) else {
            return Vec::new();
        };
        let mm = p.mm.lock();
        let (brk_start, brk) = (mm.brk_start, mm.brk);
        mm.aspace
            .regions()
            .into_iter()
            .map(|(start, end, prot)| {
                let name: &[u8] =
                    if start <= brk_start && brk_start < end.max(brk) && brk > brk_start {
                        b"[heap]"
                    } else if end == crate::exec::STACK_TOP {
                        b"[stack]"
                    } else {
                        b""
                    };
                MapEntry {
                    start,
                    end,
                    read: prot.read,
                    write: prot.write,
                    exec: prot.exec,
                    shared: false,
                    offset: 0,
                    name: name.to_vec(),
                }
            })
            .collect()
    }

    fn files(&self, pid: u32) -> Vec<(u32, Arc<OpenFile>, bool)> {
        let Some(p) = process::by_pid(pid) else {
            return Vec::new();
        };
        let files = p.files.lock();
        crate::capsys::with(|sys| {
            files
                .fds(sys)
                .into_iter()
                .filter_map(|fd| {
                    let f = files.get(sys, i64::from(fd), Rights::empty()).ok()?;
                    Some((fd, f, files.cloexec(fd)))
                })
                .collect()
        })
    }

    fn fs_context(&self, pid: u32) -> Option<FsContext> {
        let p = process::by_pid(pid)?;
        let ctx = p.fs.try_lock()?.clone();
        Some(ctx)
    }

    fn caps_text(&self, pid: u32) -> Vec<u8> {
        // The debug console's `caps PID` format: slots named fd:N, auth:N, root:N.
        crate::debugcon::commands::proc_caps_text(pid)
            .unwrap_or_default()
            .into_bytes()
    }

    fn system(&self) -> SystemInfo {
        let f = crate::mm::frames::stats();
        let up = crate::time::uptime_ns();
        let (real, _) = crate::time::realtime();
        let (vendor, family, model, stepping, name) = cpu_ident();
        let procs = process::all();
        let (_, switches) = crate::sched::stats();
        let running = procs.iter().filter(|p| !p.has_exited()).count().min(1) as u32;
        let (user, sys, idle) = process::system_ticks();
        const TICK_NS: u64 = 1_000_000_000 / crate::time::HZ;
        SystemInfo {
            uptime_ns: up,
            idle_ns: idle * TICK_NS,
            user_ns: user * TICK_NS,
            system_ns: sys * TICK_NS,
            mem_total: f.total * crate::mm::PAGE_SIZE,
            mem_free: f.free * crate::mm::PAGE_SIZE,
            boot_time: real - (up / 1_000_000_000) as i64,
            ncpus: 1,
            cpu_vendor: vendor,
            cpu_family: family,
            cpu_model: model,
            cpu_stepping: stepping,
            cpu_name: name,
            cpu_flags: cpu_flags(),
            cpu_mhz: 2000,
            hostname: {
                let h = crate::HOSTNAME.lock().clone();
                if h.is_empty() {
                    b"(none)".to_vec()
                } else {
                    h
                }
            },
            cmdline: crate::cmdline::LINE
                .get()
                .map_or_else(Vec::new, |l| l.as_bytes().to_vec()),
            forks: procs.iter().map(|p| u64::from(p.pid)).max().unwrap_or(0),
            running,
            last_pid: procs.iter().map(|p| p.pid).max().unwrap_or(0),
            ctxt: switches,
        }
    }

    fn net_file(&self, path: &[u8]) -> Option<Vec<u8>> {
        use linux_personality::net::ifconf as n;
        let text = match path {
            b"sys/net/ipv4/ping_group_range" => n::ping_group_range(),
            b"net/tcp6" => n::proc_net_tcp6(),
            b"net/udp6" => n::proc_net_udp6(),
            b"net/if_inet6" => n::proc_net_if_inet6(),
            _ => {
                let st = crate::net::stack()?;
                match path {
                    b"net/dev" => n::proc_net_dev(st),
                    b"net/route" => n::proc_net_route(st),
                    b"net/tcp" => n::proc_net_tcp(st),
                    b"net/udp" => n::proc_net_udp(st),
                    b"net/icmp" => n::proc_net_icmp(st),
                    _ => return None,
                }
            }
        };
        Some(text.into_bytes())
    }

    fn set_hostname(&self, name: &[u8]) {
        *crate::HOSTNAME.lock() = name.to_vec();
    }
}
