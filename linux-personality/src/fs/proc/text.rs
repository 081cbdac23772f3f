//! The text of each /proc file, in Linux's exact formats (field order, widths,
//! padding), from the facts a [`ProcSource`] gives.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::{lossy, Env, MapEntry, ProcInfo, SystemInfo};
use crate::file::OpenFile;

/// USER_HZ: the unit of the times in /proc.
pub const HZ: u64 = 100;
const PAGE_KB: u64 = 4;

fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / HZ)
}

/// `secs.hundredths`, as /proc/uptime prints.
fn centis(ns: u64) -> String {
    let c = ns / 10_000_000;
    format!("{}.{:02}", c / 100, c % 100)
}

pub fn cmdline(e: &Env<'_>) -> Vec<u8> {
    let mut c = e.src.system().cmdline;
    c.push(b'\n');
    c
}

pub fn cpuinfo_file(e: &Env<'_>) -> Vec<u8> {
    cpuinfo(&e.src.system())
}

/// /proc/cpuinfo: one block per CPU, as x86's show_cpuinfo.
pub fn cpuinfo(s: &SystemInfo) -> Vec<u8> {
    let mut o = String::new();
    let n = s.ncpus.max(1);
    for cpu in 0..n {
        let _ = write!(
            o,
            "processor\t: {cpu}\nvendor_id\t: {}\ncpu family\t: {}\nmodel\t\t: {}\n\
             model name\t: {}\nstepping\t: {}\ncpu MHz\t\t: {}.000\ncache size\t: 512 KB\n\
             physical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {cpu}\ncpu cores\t: {n}\n\
             apicid\t\t: {cpu}\ninitial apicid\t: {cpu}\nfpu\t\t: yes\nfpu_exception\t: yes\n\
             cpuid level\t: 13\nwp\t\t: yes\nflags\t\t: {}\nbugs\t\t:\nbogomips\t: {}.00\n\
             clflush size\t: 64\ncache_alignment\t: 64\n\
             address sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n",
            lossy(&s.cpu_vendor),
            s.cpu_family,
            s.cpu_model,
            lossy(&s.cpu_name),
            s.cpu_stepping,
            s.cpu_mhz,
            lossy(&s.cpu_flags),
            u64::from(s.cpu_mhz) * 2,
        );
    }
    o.into_bytes()
}

pub fn filesystems(_e: &Env<'_>) -> Vec<u8> {
    let mut o = String::new();
    for t in crate::fs::mount::FsType::all() {
        let _ = writeln!(o, "nodev\t{}", t.name());
    }
    o.into_bytes()
}

pub fn loadavg(e: &Env<'_>) -> Vec<u8> {
    // No load average is kept: the counts are real, the averages say "idle".
    let s = e.src.system();
    let total = e.src.pids().len();
    format!(
        "0.00 0.00 0.00 {}/{} {}\n",
        s.running.max(1),
        total,
        s.last_pid
    )
    .into_bytes()
}

pub fn meminfo_file(e: &Env<'_>) -> Vec<u8> {
    meminfo(&e.src.system())
}

/// /proc/meminfo: Linux's fields in Linux's order, `name:` padded to 16 and the value
/// right-aligned in 8. What Writ does not have (swap, page cache) is 0.
pub fn meminfo(s: &SystemInfo) -> Vec<u8> {
    let kb = |b: u64| b / 1024;
    let fields: &[(&str, u64)] = &[
        ("MemTotal:", kb(s.mem_total)),
        ("MemFree:", kb(s.mem_free)),
        ("MemAvailable:", kb(s.mem_free)),
        ("Buffers:", 0),
        ("Cached:", 0),
        ("SwapCached:", 0),
        ("Active:", kb(s.mem_total - s.mem_free.min(s.mem_total))),
        ("Inactive:", 0),
        (
            "Active(anon):",
            kb(s.mem_total - s.mem_free.min(s.mem_total)),
        ),
        ("Inactive(anon):", 0),
        ("Active(file):", 0),
        ("Inactive(file):", 0),
        ("Unevictable:", 0),
        ("Mlocked:", 0),
        ("SwapTotal:", 0),
        ("SwapFree:", 0),
        ("Dirty:", 0),
        ("Writeback:", 0),
        ("AnonPages:", kb(s.mem_total - s.mem_free.min(s.mem_total))),
        ("Mapped:", 0),
        ("Shmem:", 0),
        ("KReclaimable:", 0),
        ("Slab:", 0),
        ("SReclaimable:", 0),
        ("SUnreclaim:", 0),
        ("KernelStack:", 0),
        ("PageTables:", 0),
        ("CommitLimit:", kb(s.mem_total) / 2),
        (
            "Committed_AS:",
            kb(s.mem_total - s.mem_free.min(s.mem_total)),
        ),
        ("VmallocTotal:", 34_359_738_367),
        ("VmallocUsed:", 0),
        ("VmallocChunk:", 0),
        ("HugePages_Total:", 0),
        ("HugePages_Free:", 0),
        ("Hugepagesize:", 2048),
    ];
    let mut o = String::new();
    for (name, v) in fields {
        if name.starts_with("HugePages_") {
            // Counts, not sizes: no unit.
            let _ = writeln!(o, "{name:<16}{v:>8}");
        } else {
            let _ = writeln!(o, "{name:<16}{v:>8} kB");
        }
    }
    o.into_bytes()
}

pub fn mounts(e: &Env<'_>) -> Vec<u8> {
    crate::fs::mount::mounts_text(e.ctx, e.creds)
}

pub fn stat_file(e: &Env<'_>) -> Vec<u8> {
    // user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ
    // ticks, from the kernel's tick accounting.
    let s = e.src.system();
    let n = u64::from(s.ncpus.max(1));
    let (user, sys, idle) = (ticks(s.user_ns), ticks(s.system_ns), ticks(s.idle_ns));
    let mut o = String::new();
    let _ = writeln!(o, "cpu  {user} 0 {sys} {idle} 0 0 0 0 0 0");
    for c in 0..n {
        let _ = writeln!(
            o,
            "cpu{c} {} 0 {} {} 0 0 0 0 0 0",
            user / n,
            sys / n,
            idle / n
        );
    }
    let _ = write!(
        o,
        "intr 0\nctxt {}\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\n\
         softirq 0 0 0 0 0 0 0 0 0 0 0\n",
        s.ctxt,
        s.boot_time,
        s.forks,
        s.running.max(1)
    );
    o.into_bytes()
}

pub fn uptime(e: &Env<'_>) -> Vec<u8> {
    let s = e.src.system();
    format!("{} {}\n", centis(s.uptime_ns), centis(s.idle_ns)).into_bytes()
}

/// /proc/partitions: block devices and their partitions; there are none (the root
/// file system is in memory), so only the header, as Linux prints it.
pub fn partitions(_e: &Env<'_>) -> Vec<u8> {
    b"major minor  #blocks  name\n\n".to_vec()
}

pub fn version(_e: &Env<'_>) -> Vec<u8> {
    format!(
        "Linux version {} (writ@writ) (rustc) {}\n",
        lossy(crate::syscall::misc::RELEASE),
        lossy(crate::syscall::misc::VERSION)
    )
    .into_bytes()
}

pub fn hostname(e: &Env<'_>) -> Vec<u8> {
    let mut h = e.src.system().hostname;
    h.push(b'\n');
    h
}

pub fn osrelease(_e: &Env<'_>) -> Vec<u8> {
    let mut r = crate::syscall::misc::RELEASE.to_vec();
    r.push(b'\n');
    r
}

pub fn ostype(_e: &Env<'_>) -> Vec<u8> {
    b"Linux\n".to_vec()
}

pub fn pid_max(_e: &Env<'_>) -> Vec<u8> {
    b"32768\n".to_vec()
}

pub fn ngroups_max(_e: &Env<'_>) -> Vec<u8> {
    b"65536\n".to_vec()
}

pub fn overcommit(_e: &Env<'_>) -> Vec<u8> {
    // Heuristic overcommit is what Writ does: mappings are lazy and not charged.
    b"0\n".to_vec()
}

// Per process.

pub fn caps(e: &Env<'_>, p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    e.src.caps_text(p.pid)
}

pub fn pid_cmdline(_e: &Env<'_>, p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    p.cmdline.clone()
}

pub fn comm(_e: &Env<'_>, p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    let mut c = p.comm.clone();
    c.truncate(15);
    c.push(b'\n');
    c
}

pub fn environ(_e: &Env<'_>, p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    p.environ.clone()
}

pub fn maps(e: &Env<'_>, p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    let mut o = Vec::new();
    for m in e.src.vm_maps(p.pid) {
        o.extend_from_slice(&map_line(&m));
    }
    o
}

/// One /proc/PID/maps line: the name, if any, starts in column 74.
pub fn map_line(m: &MapEntry) -> Vec<u8> {
    let mut l = format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 0 ",
        m.start,
        m.end,
        if m.read { 'r' } else { '-' },
        if m.write { 'w' } else { '-' },
        if m.exec { 'x' } else { '-' },
        if m.shared { 's' } else { 'p' },
        m.offset
    )
    .into_bytes();
    if !m.name.is_empty() {
        while l.len() < 73 {
            l.push(b' ');
        }
        l.extend_from_slice(&m.name);
    }
    l.push(b'\n');
    l
}

pub fn pid_mounts(e: &Env<'_>, _p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    crate::fs::mount::mounts_text(e.ctx, e.creds)
}

pub fn mountinfo(e: &Env<'_>, _p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    crate::fs::mount::mountinfo_text(e.ctx, e.creds)
}

pub fn pid_stat(_e: &Env<'_>, p: &ProcInfo, tid: Option<u32>) -> Vec<u8> {
    stat_line(p, tid)
}

/// /proc/PID/stat: the 52 fields of Linux's do_task_stat.
pub fn stat_line(p: &ProcInfo, tid: Option<u32>) -> Vec<u8> {
    format!(
        "{} ({}) {} {} {} {} {} {} 4194304 0 0 0 0 {} {} 0 0 {} {} {} 0 {} {} {} \
         18446744073709551615 0 0 0 0 0 {} {} {} {} 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        tid.unwrap_or(p.pid),
        lossy(&p.comm),
        p.state as char,
        p.ppid,
        p.pgid,
        p.sid,
        p.tty_nr,
        p.tpgid,
        p.utime,
        p.stime,
        20 + p.nice,
        p.nice,
        p.threads.len().max(1),
        p.start_time,
        p.vsize,
        p.rss_pages,
        p.sig_pending,
        p.sig_blocked,
        p.sig_ignored,
        p.sig_caught,
    )
    .into_bytes()
}

pub fn statm(_e: &Env<'_>, p: &ProcInfo, _tid: Option<u32>) -> Vec<u8> {
    format!(
        "{} {} 0 0 0 {} 0\n",
        p.vsize / 4096,
        p.rss_pages,
        p.vsize / 4096
    )
    .into_bytes()
}

pub fn status(e: &Env<'_>, p: &ProcInfo, tid: Option<u32>) -> Vec<u8> {
    if e.src.caller().0 == p.pid {
        // The caller's own umask is in its context (the kernel may not read it).
        let mut mine = p.clone();
        mine.umask = e.ctx.umask;
        return status_text(&mine, tid);
    }
    status_text(p, tid)
}

fn state_name(s: u8) -> &'static str {
    match s {
        b'R' => "R (running)",
        b'T' => "T (stopped)",
        b'Z' => "Z (zombie)",
        b'D' => "D (disk sleep)",
        _ => "S (sleeping)",
    }
}

/// /proc/PID/status, Linux 6.x's lines in their order.
pub fn status_text(p: &ProcInfo, tid: Option<u32>) -> Vec<u8> {
    let mut o = String::new();
    let i = &p.ids;
    let pid = tid.unwrap_or(p.pid);
    let _ = write!(
        o,
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{}\n\
         TracerPid:\t0\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\nGroups:\t",
        lossy(&p.comm),
        p.umask,
        state_name(p.state),
        p.pid,
        p.ppid,
        i.ruid,
        i.euid,
        i.suid,
        i.euid,
        i.rgid,
        i.egid,
        i.sgid,
        i.egid,
    );
    for (k, g) in i.groups.iter().enumerate() {
        let _ = write!(o, "{}{g}", if k > 0 { " " } else { "" });
    }
    let kb = |pages: u64| pages * PAGE_KB;
    let vm = p.vsize / 1024;
    let rss = kb(p.rss_pages);
    let _ = write!(
        o,
        " \nNStgid:\t{}\nNSpid:\t{pid}\nNSpgid:\t{}\nNSsid:\t{}\nKthread:\t0\n\
         VmPeak:\t{vm:>8} kB\nVmSize:\t{vm:>8} kB\nVmLck:\t{:>8} kB\nVmPin:\t{:>8} kB\n\
         VmHWM:\t{rss:>8} kB\nVmRSS:\t{rss:>8} kB\nRssAnon:\t{rss:>8} kB\n\
         RssFile:\t{:>8} kB\nRssShmem:\t{:>8} kB\nVmData:\t{vm:>8} kB\nVmStk:\t{:>8} kB\n\
         VmExe:\t{:>8} kB\nVmLib:\t{:>8} kB\nVmPTE:\t{:>8} kB\nVmSwap:\t{:>8} kB\n\
         HugetlbPages:\t{:>8} kB\nCoreDumping:\t0\nTHP_enabled:\t0\n\
         untag_mask:\t0xffffffffffffffff\nThreads:\t{}\nSigQ:\t0/63535\n\
         SigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\n\
         SigCgt:\t{:016x}\n",
        p.pid,
        p.pgid,
        p.sid,
        0,
        0,
        0,
        0,
        132,
        0,
        0,
        0,
        0,
        0,
        p.threads.len().max(1),
        p.sig_pending,
        0,
        p.sig_blocked,
        p.sig_ignored,
        p.sig_caught,
    );
    // Root holds every capability; everyone else none (no file capabilities).
    let caps = if i.euid == 0 { 0x1ff_ffff_ffffu64 } else { 0 };
    let _ = write!(
        o,
        "CapInh:\t{:016x}\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\nCapBnd:\t{:016x}\n\
         CapAmb:\t{:016x}\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n\
         Speculation_Store_Bypass:\tvulnerable\nSpeculationIndirectBranch:\tunknown\n\
         Cpus_allowed:\t1\nCpus_allowed_list:\t0\nMems_allowed:\t1\nMems_allowed_list:\t0\n\
         voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        0, 0x1ff_ffff_ffffu64, 0
    );
    o.into_bytes()
}

/// /proc/PID/fdinfo/N.
pub fn fdinfo(f: &OpenFile, cloexec: bool) -> Vec<u8> {
    let flags = f.status() | if cloexec { 0o2000000 } else { 0 };
    let st = f.ops.stat();
    format!(
        "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n",
        *f.offset.lock(),
        flags,
        0,
        st.ino
    )
    .into_bytes()
}
