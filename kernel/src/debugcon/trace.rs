//! `trace`: capability-level strace. Each capability operation the Linux personality
//! performs for a traced process (lookup for a use, create, copy, delete, invoke; see
//! `linux_personality::fd::CapUse`) becomes one console line:
//!
//! `trace 12.345 pid 7 read(0) cptr 0x3 file_41 use R--- -> ok`
//!
//! The hook is `FdTable::tracer`, set only on traced processes, so an untraced process
//! pays one branch per operation. The system call number comes from
//! `syscall::Ctx::with_caps`, which records it (only while any tracing is on) under the
//! capability lock the traced operation also runs under, so the pair always matches.
//! Lines are queued without waiting; if the host does not keep up they are dropped
//! and counted (the prompt reports it).

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrayvec::ArrayString;
use caps::CapSystem;
use linux_personality::fd::{CapFail, CapOp, CapUse};

/// Some process is traced: `with_caps` records the caller.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// `trace all on`: new processes are traced from birth (they inherit it by fork).
static ALL: AtomicBool = AtomicBool::new(false);
/// The caller of the current `with_caps` (pid << 32 | syscall number).
static CALLER: AtomicU64 = AtomicU64::new(0);

/// Called by `Ctx::with_caps` with the capability lock held.
#[inline]
pub fn enter(pid: u32, nr: u64) {
    if ACTIVE.load(Ordering::Relaxed) {
        CALLER.store(u64::from(pid) << 32 | (nr & 0xffff_ffff), Ordering::Relaxed);
    }
}

/// Turns tracing of `pid` on or off; false if there is no such process.
pub fn set(pid: u32, on: bool) -> bool {
    let Some(p) = crate::process::by_pid(pid) else {
        return false;
    };
    if on {
        ACTIVE.store(true, Ordering::Relaxed);
    }
    p.files.lock().tracer = on.then_some(record as linux_personality::fd::Tracer);
    if !on && !ALL.load(Ordering::Relaxed) {
        let any = crate::process::all()
            .iter()
            .any(|p| p.files.lock().tracer.is_some());
        ACTIVE.store(any, Ordering::Relaxed);
    }
    true
}

/// `trace all on|off`: every live process.
pub fn set_all(on: bool) -> usize {
    ALL.store(on, Ordering::Relaxed);
    if on {
        ACTIVE.store(true, Ordering::Relaxed);
    }
    let procs = crate::process::all();
    for p in &procs {
        p.files.lock().tracer = on.then_some(record as linux_personality::fd::Tracer);
    }
    if !on {
        ACTIVE.store(false, Ordering::Relaxed);
    }
    procs.len()
}

/// Is `pid` traced now?
pub fn is_traced(pid: u32) -> bool {
    crate::process::by_pid(pid).is_some_and(|p| p.files.lock().tracer.is_some())
}

pub fn all_on() -> bool {
    ALL.load(Ordering::Relaxed)
}

/// Rights a Create (or another NetStack operation) checks, by name alone when they
/// are all per-type ones: `RAW`, or `TCP_CONNECT|TCP_LISTEN` when any one will do.
struct Needed(caps::Rights, &'static [(&'static str, caps::Rights)]);

impl core::fmt::Display for Needed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut text = ArrayString::<160>::new();
        let _ = write!(text, "{}", self.0.display(self.1));
        match text.strip_prefix("----+") {
            Some(names) => {
                for (i, n) in names.split('+').enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    f.write_str(n)?;
                }
                Ok(())
            }
            None => f.write_str(&text),
        }
    }
}

/// An invocation: its label, named for a NetStack, with the rights check it makes
/// (the rights it needs against those the capability carries).
fn invoke_text(
    line: &mut ArrayString<384>,
    sys: &CapSystem,
    u: &CapUse,
    label: u64,
) -> core::fmt::Result {
    let stack = u
        .cap
        .as_ref()
        .filter(|c| sys.type_name(c) == Some("netstack"));
    match (stack, netobj::capobj::stack_label(label)) {
        (Some(c), Some((name, need))) => {
            let names = sys.right_names(c);
            write!(
                line,
                "invoke {name} needs {} has {}",
                Needed(need, names),
                c.rights.display(names)
            )
        }
        _ => write!(line, "invoke label {label}"),
    }
}

/// The tracer the personality calls (capability lock held; must not block).
fn record(sys: &CapSystem, u: &CapUse) {
    let caller = CALLER.load(Ordering::Relaxed);
    let (pid, nr) = ((caller >> 32) as u32, caller & 0xffff_ffff);
    let name = usize::try_from(nr)
        .ok()
        .and_then(linux_personality::abi::nr::syscall_name)
        .unwrap_or("?");
    let now = crate::time::uptime_ns() / 1_000_000;
    let mut line = ArrayString::<384>::new();
    let _ = write!(
        line,
        "trace {}.{:03} pid {pid} {name}({nr}) cptr {:#x} ",
        now / 1000,
        now % 1000,
        u.cptr
    );
    match &u.cap {
        Some(c) => {
            let ty = sys.type_name(c).unwrap_or("dead");
            let _ = write!(line, "{ty}_{} ", c.oid);
        }
        None => line.push_str("(empty) "),
    }
    let _ = match u.op {
        CapOp::Use(need) => write!(line, "use {}", need.display(&[])),
        CapOp::Create => write!(line, "create"),
        CapOp::Copy { dst } if dst == u64::MAX => write!(line, "copy"),
        CapOp::Copy { dst } => write!(line, "copy to {dst:#x}"),
        CapOp::Delete => write!(line, "delete"),
        CapOp::Invoke { label } => invoke_text(&mut line, sys, u, label),
    };
    let names = u.cap.as_ref().map_or(&[][..], |c| sys.right_names(c));
    let _ = match &u.result {
        Ok(()) => write!(line, " -> ok"),
        Err(CapFail::Errno(e)) => write!(line, " -> {}", e.name()),
        Err(CapFail::Cap(caps::Error::InsufficientRights { missing })) => write!(
            line,
            " -> InsufficientRights missing {}",
            Needed(caps::Rights::from_bits_retain(*missing), names)
        ),
        Err(CapFail::Cap(e)) => write!(line, " -> {e:?}"),
    };
    // A line cut by the fixed buffer still ends cleanly.
    if line.try_push_str("\r\n").is_err() {
        line.truncate(line.capacity() - 2);
        line.push_str("\r\n");
    }
    super::uart::write_or_drop(line.as_bytes());
}
