//! What the console shows about processes and capabilities, and how a user names a
//! slot.
//!
//! Slots are named per process: `fd:N` (slot N of the fd CNode, i.e. fd N), `auth:N`
//! (slot N of the authority CNode: 0 Budget, 1 NetStack), `root:N` (slot N of the root
//! CNode: 0 the fd CNode, 1 the authority CNode), `root` (the CSpace's root capability),
//! or a CPtr in decimal or 0x-hex resolved over 64 bits like an invocation (fd N is
//! CPtr N, `auth:K` is CPtr 0x1000000000000000 + K). Pid 0 is the kernel's own CSpace
//! (root Budget at root:0, the DebugConsole at root:1, its Budget at root:2); only
//! `root`/`root:N` name its slots. In listings a slot is `PID:NAME` (`7:fd:3`, `kernel:root:0`).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;

use caps::{CSpaceId, Cap, CapSystem, Oid, Slot};
use linux_personality::fd::{ROOT_AUTHORITY_SLOT, ROOT_FD_SLOT};

use crate::process::Process;

/// A process as the console knows it (pid 0: the kernel).
pub struct Proc {
    pub pid: u32,
    pub cspace: CSpaceId,
    pub proc: Option<Arc<Process>>,
    /// The command, read before the capability lock is taken.
    comm: String,
}

impl Proc {
    pub fn name(&self) -> String {
        self.comm.clone()
    }
}

/// Every process by pid, the kernel first. Taken without the capability lock (each
/// process's own locks are held only to copy its CSpace id and command), so the
/// console never nests a process lock inside the capability lock.
pub fn processes() -> Vec<Proc> {
    let mut v: Vec<Proc> = crate::process::all()
        .into_iter()
        .map(|p| {
            let cspace = p.files.lock().cspace;
            Proc {
                pid: p.pid,
                cspace,
                comm: p.name(),
                proc: Some(p),
            }
        })
        .collect();
    v.sort_by_key(|p| p.pid);
    v.insert(
        0,
        Proc {
            pid: 0,
            cspace: crate::capsys::kernel_cspace(),
            proc: None,
            comm: "[kernel]".into(),
        },
    );
    v
}

pub fn find(procs: &[Proc], pid: &str) -> Result<usize, String> {
    let n: u32 = pid
        .parse()
        .map_err(|_| alloc::format!("error: '{pid}' is not a pid"))?;
    procs
        .iter()
        .position(|p| p.pid == n)
        .ok_or_else(|| alloc::format!("error: no process {n}"))
}

/// Who owns which CNode, so any slot can be printed as `PID:NAME`.
pub struct Names {
    /// CNode oid -> (pid, "root" | "fd" | "auth").
    cnodes: BTreeMap<Oid, (u32, &'static str)>,
    roots: Vec<(Slot, u32)>,
    comm: BTreeMap<u32, String>,
}

fn pid_text(pid: u32) -> String {
    if pid == 0 {
        "kernel".into()
    } else {
        pid.to_string()
    }
}

impl Names {
    pub fn new(sys: &CapSystem, procs: &[Proc]) -> Names {
        let mut n = Names {
            cnodes: BTreeMap::new(),
            roots: Vec::new(),
            comm: BTreeMap::new(),
        };
        for p in procs {
            n.comm.insert(p.pid, p.name());
            let root_slot = Slot::root(p.cspace);
            n.roots.push((root_slot, p.pid));
            let Some(root) = sys.cap_at(root_slot) else {
                continue;
            };
            n.cnodes.entry(root.oid).or_insert((p.pid, "root"));
            if p.pid == 0 {
                continue;
            }
            for (idx, kind) in [(ROOT_FD_SLOT, "fd"), (ROOT_AUTHORITY_SLOT, "auth")] {
                if let Some(c) = sys.slot_of(&root, idx).ok().and_then(|s| sys.cap_at(s)) {
                    if sys.type_name(&c) == Some("cnode") {
                        n.cnodes.entry(c.oid).or_insert((p.pid, kind));
                    }
                }
            }
        }
        n
    }

    /// `7:fd:3`, `kernel:root:1`, `7:root`; a slot of an unknown CNode by the caps
    /// crate's name.
    /// The CDT parent of the capability in `slot` by name, or `none`. A *made*
    /// capability's parent (the capability to another object it was created through,
    /// as an endpoint under its NetStack cap) is marked `(made)`.
    pub fn parent(&self, sys: &CapSystem, slot: Slot, none: &str) -> String {
        match sys.cdt_parent(slot) {
            None => none.into(),
            Some(p) if sys.is_made(slot) => alloc::format!("{} (made)", self.slot(sys, p)),
            Some(p) => self.slot(sys, p),
        }
    }

    pub fn slot(&self, sys: &CapSystem, slot: Slot) -> String {
        if let Some((_, pid)) = self.roots.iter().find(|(s, _)| *s == slot) {
            return alloc::format!("{}:root", pid_text(*pid));
        }
        match slot.cnode().and_then(|o| self.cnodes.get(&o)) {
            Some((pid, kind)) => alloc::format!("{}:{kind}:{}", pid_text(*pid), slot.index()),
            None => sys.slot_name(slot),
        }
    }

    /// The pid owning a slot, if known.
    pub fn owner(&self, slot: Slot) -> Option<u32> {
        if let Some((_, pid)) = self.roots.iter().find(|(s, _)| *s == slot) {
            return Some(*pid);
        }
        slot.cnode()
            .and_then(|o| self.cnodes.get(&o))
            .map(|(p, _)| *p)
    }

    pub fn comm(&self, pid: u32) -> &str {
        self.comm.get(&pid).map_or("?", String::as_str)
    }
}

/// `file_41`
pub fn obj_name(sys: &CapSystem, cap: &Cap) -> String {
    alloc::format!("{}_{}", sys.type_name(cap).unwrap_or("dead"), cap.oid)
}

/// The object's attributes (`radix: 6, ...`, `mode: 0o20620, ...`), empty if none.
pub fn attrs(sys: &CapSystem, oid: Oid) -> String {
    let mut s = String::new();
    let _ = sys.object_attrs(oid, &mut s);
    s
}

pub fn rights(sys: &CapSystem, cap: &Cap) -> String {
    cap.rights.display(sys.right_names(cap)).to_string()
}

/// Every capability of a CSpace, depth first in slot order: (depth, slot, cap).
pub fn cspace_caps(sys: &CapSystem, cs: CSpaceId) -> Vec<(usize, Slot, Cap)> {
    let mut out = Vec::new();
    let root_slot = Slot::root(cs);
    let Some(root) = sys.cap_at(root_slot) else {
        return out;
    };
    out.push((0, root_slot, root));
    let mut seen = BTreeSet::new();
    out.extend(cspace_caps_of_cnode(sys, root.oid, 1, &mut seen));
    out
}

/// The slots of CNode `oid` in order, each CNode's contents right after its slot; a
/// CNode reached twice is listed once (depth is bounded, so recursion is too).
fn cspace_caps_of_cnode(
    sys: &CapSystem,
    oid: Oid,
    depth: usize,
    seen: &mut BTreeSet<Oid>,
) -> Vec<(usize, Slot, Cap)> {
    let mut out = Vec::new();
    if depth > 8 || !seen.insert(oid) {
        return out;
    }
    for (i, cap) in sys.cnode_entries(oid) {
        let Ok(slot) = sys.cnode_slot(oid, i) else {
            continue;
        };
        out.push((depth, slot, cap));
        if sys.type_name(&cap) == Some("cnode") {
            out.extend(cspace_caps_of_cnode(sys, cap.oid, depth + 1, seen));
        }
    }
    out
}

/// Resolves a user's slot name in process `p` (see the module doc).
pub fn parse_slot(sys: &CapSystem, p: &Proc, text: &str) -> Result<Slot, String> {
    let bad =
        || alloc::format!("error: bad slot '{text}' (try fd:N, auth:N, root:N, root or a CPtr)");
    let root = sys
        .cap_at(Slot::root(p.cspace))
        .ok_or_else(|| alloc::format!("error: process {} has no CSpace (exited)", p.pid))?;
    let index = |s: &str| -> Result<u32, String> {
        parse_u64(s)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(bad)
    };
    let sub = |idx: u32| -> Result<Oid, String> {
        sys.slot_of(&root, idx)
            .ok()
            .and_then(|s| sys.cap_at(s))
            .filter(|c| sys.type_name(c) == Some("cnode"))
            .map(|c| c.oid)
            .ok_or_else(|| alloc::format!("error: process {} has no such CNode", p.pid))
    };
    let in_cnode = |oid: Oid, i: u32| -> Result<Slot, String> {
        sys.cnode_slot(oid, i)
            .map_err(|_| alloc::format!("error: slot '{text}' is out of range"))
    };
    if text == "root" {
        return Ok(Slot::root(p.cspace));
    }
    if let Some((kind, n)) = text.split_once(':') {
        let i = index(n)?;
        return match kind {
            "root" => in_cnode(root.oid, i),
            "fd" if p.pid != 0 => in_cnode(sub(ROOT_FD_SLOT)?, i),
            "auth" if p.pid != 0 => in_cnode(sub(ROOT_AUTHORITY_SLOT)?, i),
            _ => Err(bad()),
        };
    }
    let cptr = parse_u64(text).ok_or_else(bad)?;
    sys.lookup_slot(p.cspace, cptr, 64)
        .map_err(|e| alloc::format!("error: CPtr {cptr:#x} does not name a slot: {e:?}"))
}

pub fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Capability counts by type, `cnode:3 file:4 budget:1`.
pub fn cap_counts(sys: &CapSystem, cs: CSpaceId) -> String {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (_, _, cap) in cspace_caps(sys, cs) {
        *counts
            .entry(sys.type_name(&cap).unwrap_or("dead"))
            .or_default() += 1;
    }
    let mut s = String::new();
    for (t, n) in counts {
        let _ = write!(s, "{}{t}:{n}", if s.is_empty() { "" } else { " " });
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// The parent's pid (init's, once an orphan is adopted).
pub fn parent(p: &Process) -> u32 {
    p.ppid()
}

/// A process's state from its threads: `run`, `ready`, `sleep`, `dying`, `zombie`.
pub fn state(p: &Process) -> &'static str {
    if p.has_exited() {
        return "zombie";
    }
    if p.is_dying() {
        return "dying";
    }
    let states: Vec<&'static str> = p
        .thread_ids()
        .into_iter()
        .filter_map(|(_, id)| crate::sched::state_name(id))
        .collect();
    ["run", "ready"]
        .into_iter()
        .find(|s| states.contains(s))
        .unwrap_or("sleep")
}

/// The CDT subtree under `slot`, across every CSpace: one line per capability,
/// indented under the capability it was derived from.
pub fn cdt_lines(sys: &CapSystem, names: &Names, slot: Slot, out: &mut String) -> usize {
    let mut stack = alloc::vec![(slot, 0usize)];
    let mut n = 0;
    while let Some((s, depth)) = stack.pop() {
        let Some(cap) = sys.cap_at(s) else { continue };
        n += 1;
        let owner = names.owner(s);
        let _ = writeln!(
            out,
            "{:indent$}{} {} {}{}  [{}]",
            "",
            names.slot(sys, s),
            obj_name(sys, &cap),
            rights(sys, &cap),
            badge(&cap),
            owner.map_or_else(|| "?".into(), |p| names.comm(p).to_string()),
            indent = 2 * depth
        );
        if depth >= 64 {
            continue;
        }
        let mut kids = sys.cdt_children(s);
        kids.sort();
        stack.extend(kids.into_iter().rev().map(|k| (k, depth + 1)));
    }
    n
}

pub fn badge(cap: &Cap) -> String {
    if cap.badge == 0 {
        String::new()
    } else {
        alloc::format!(" badge={:#x}", cap.badge)
    }
}

/// Every capability in every CSpace naming object `oid`: (pid, slot).
pub fn holders(sys: &CapSystem, procs: &[Proc], oid: Oid) -> Vec<(u32, Slot)> {
    let mut v = Vec::new();
    for p in procs {
        for (_, slot, cap) in cspace_caps(sys, p.cspace) {
            if cap.oid == oid {
                v.push((p.pid, slot));
            }
        }
    }
    v
}
