//! The console's commands: parse a line, run it, return its text. Reads happen under
//! the capability lock and only format; mutations (revoke, delete) go through the
//! caps crate's own operations, so every invariant `check` verifies still holds after.
//! Bad input of any kind is one line starting with `error:`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use caps::{CapSystem, Slot};
use linux_personality::signal::{SigInfo, SI_KERNEL};

use super::views::{self, Names, Proc};

struct Command {
    name: &'static str,
    usage: &'static str,
    /// One line for the list.
    brief: &'static str,
    help: &'static str,
    run: fn(&[&str]) -> String,
}

const SLOTS: &str = "\
SLOT names a slot of the process's CSpace:
  fd:N     slot N of its fd CNode (file descriptor N)
  auth:N   slot N of its authority CNode (0 Budget, 1 NetStack)
  root:N   slot N of its root CNode (0 the fd CNode, 1 the authority CNode)
  root     the CSpace's root capability
  CPTR     a CPtr, decimal or 0x-hex, resolved over 64 bits (fd N is CPtr N,
           auth:K is CPtr 0x1000000000000000+K)
PID 0 is the kernel's CSpace (root:0 its root Budget, root:1 the DebugConsole,
root:2 the console's own Budget); it is shown, never changed.";

const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        usage: "help [COMMAND]",
        brief: "list the commands, or explain one",
        help: "List the commands, or explain one.",
        run: help,
    },
    Command {
        name: "ps",
        usage: "ps",
        brief: "processes, their state and capability counts",
        help: "Processes: pid, parent, thread count, state (run, ready, sleep, dying,\n\
               zombie), uid, command, and capability counts by object type.",
        run: ps,
    },
    Command {
        name: "caps",
        usage: "caps PID",
        brief: "a process's CSpace as a tree",
        help: "The process's CSpace as a tree: slot, type, object id, rights, badge and\n\
               the CDT parent (the slot it was derived from, PID:NAME).",
        run: caps_cmd,
    },
    Command {
        name: "cap",
        usage: "cap PID SLOT",
        brief: "one capability, its parent, children and holders",
        help: "One capability: object, rights, badge, CDT parent and children, and the\n\
               object's holders.",
        run: cap_cmd,
    },
    Command {
        name: "cdt",
        usage: "cdt PID SLOT",
        brief: "who got a capability from whom, across processes",
        help: "The derivation subtree under a capability, across every process: each\n\
               capability indented under the one it was copied from (who got it from\n\
               whom), with its holder's command.",
        run: cdt_cmd,
    },
    Command {
        name: "obj",
        usage: "obj OID",
        brief: "one object and every holder",
        help: "One object: type, size, the Budget it is charged to, and every holder\n\
               (PID:SLOT).",
        run: obj_cmd,
    },
    Command {
        name: "objs",
        usage: "objs [TYPE]",
        brief: "objects by type, Budgets",
        help: "Object counts and bytes charged by type, and every Budget's limit and use;\n\
               with TYPE (file, cnode, budget, tcp, ...) one line per object of it.",
        run: objs_cmd,
    },
    Command {
        name: "capdl",
        usage: "capdl [PID]",
        brief: "capDL-style dump (stable across identical boots)",
        help: "A capDL-style dump of objects, capabilities and derivation edges: the\n\
               whole system, or one process's CSpace. Ordered by oid and slot, with no\n\
               addresses or times, so two identical boots print identical text.",
        run: capdl_cmd,
    },
    Command {
        name: "check",
        usage: "check",
        brief: "run the invariant checker",
        help: "Run the capability invariant checker (caps::check) on the live system.",
        run: check_cmd,
    },
    Command {
        name: "revoke",
        usage: "revoke PID SLOT",
        brief: "delete everything derived from a capability",
        help: "Revoke a capability: delete every capability derived from it, in every\n\
               process (the capability itself stays). Prints what went.",
        run: revoke_cmd,
    },
    Command {
        name: "delete",
        usage: "delete PID SLOT",
        brief: "delete one capability",
        help: "Delete one capability (its derived capabilities move up to its parent).\n\
               Deleting an fd closes it under the process: its next use fails with EBADF.",
        run: delete_cmd,
    },
    Command {
        name: "kill",
        usage: "kill PID SIGNAL",
        brief: "send a signal to a process",
        help: "Send a signal (number or name: 9, KILL, SIGTERM...) and report whether\n\
               the process ended and how many capabilities went with its CSpace.",
        run: kill_cmd,
    },
    Command {
        name: "trace",
        usage: "trace [PID|all on|off]",
        brief: "log capability operations as they happen",
        help: "Log every capability operation of a process (and the children it forks)\n\
               as it happens: pid, system call, CPtr, object, operation (use with the\n\
               rights needed, create, copy, delete, invoke with its label) and result.\n\
               `trace` alone lists what is traced. Lines that do not fit the output\n\
               buffer are dropped and counted, never waited for.",
        run: trace_cmd,
    },
    Command {
        name: "mem",
        usage: "mem",
        brief: "frames, heap, Budgets, per-process object bytes",
        help: "Physical frames, the kernel heap, every Budget, and per process the bytes\n\
               of the objects its CSpace reaches (an object shared by several processes\n\
               counts for each).",
        run: mem_cmd,
    },
    Command {
        name: "net",
        usage: "net",
        brief: "interfaces, addresses, routes, counters",
        help: "Network interfaces: address, gateway (the route), MTU, device counters.",
        run: net_cmd,
    },
    Command {
        name: "socks",
        usage: "socks",
        brief: "every network endpoint and its owner",
        help: "Every endpoint: protocol, local and remote address, TCP state, queues,\n\
               and the NetStack capability it was created through.",
        run: socks_cmd,
    },
];

/// Runs one command line; the text to print (ending in a newline, or empty).
pub fn run(line: &str) -> String {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(&name) = words.first() else {
        return String::new();
    };
    match COMMANDS.iter().find(|c| c.name == name) {
        Some(c) => (c.run)(&words[1..]),
        None => alloc::format!(
            "error: unknown command '{}' (try help)\n",
            name.chars().take(32).collect::<String>()
        ),
    }
}

fn usage(name: &str) -> String {
    let u = COMMANDS
        .iter()
        .find(|c| c.name == name)
        .map_or("", |c| c.usage);
    alloc::format!("error: usage: {u}\n")
}

fn help(args: &[&str]) -> String {
    let mut s = String::new();
    match args {
        [] => {
            let _ = writeln!(s, "Commands (help COMMAND for more):");
            for c in COMMANDS {
                let _ = writeln!(s, "  {:<24} {}", c.usage, c.brief);
            }
            let _ = writeln!(s, "{SLOTS}");
            let _ = writeln!(
                s,
                "Line editing: backspace, ^U erases the line, ^C cancels, up/down arrows\n\
                 walk the history."
            );
        }
        [name] => match COMMANDS.iter().find(|c| c.name == *name) {
            Some(c) => {
                let _ = writeln!(s, "usage: {}\n{}", c.usage, c.help);
                if c.usage.contains("SLOT") {
                    let _ = writeln!(s, "{SLOTS}");
                }
            }
            None => return alloc::format!("error: no command '{name}' (try help)\n"),
        },
        _ => return usage("help"),
    }
    s
}

fn ps(args: &[&str]) -> String {
    if !args.is_empty() {
        return usage("ps");
    }
    let procs = views::processes();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>5} {:>5} {:>3} {:<6} {:>5}  {:<16} CAPS",
        "PID", "PPID", "THR", "STATE", "UID", "COMMAND"
    );
    // Process state first, then the capability counts under the capability lock.
    let rows: Vec<String> = procs
        .iter()
        .map(|p| match &p.proc {
            None => alloc::format!(
                "{:>5} {:>5} {:>3} {:<6} {:>5}  {:<16}",
                0,
                "-",
                "-",
                "-",
                0,
                "[kernel]"
            ),
            Some(pr) => alloc::format!(
                "{:>5} {:>5} {:>3} {:<6} {:>5}  {:<16}",
                pr.pid,
                views::parent(pr),
                pr.thread_ids().len(),
                views::state(pr),
                pr.ids.lock().euid,
                p.name()
            ),
        })
        .collect();
    let counts: Vec<String> = crate::capsys::with(|sys| {
        procs
            .iter()
            .map(|p| views::cap_counts(sys, p.cspace))
            .collect()
    });
    for (row, c) in rows.iter().zip(&counts) {
        let _ = writeln!(s, "{row} {c}");
    }
    s
}

/// Finds the process named by `args[0]` and runs `f` under the capability lock.
fn with_proc(
    args: &[&str],
    f: impl FnOnce(&mut CapSystem, &[Proc], &Proc, &Names) -> String,
) -> String {
    let procs = views::processes();
    let i = match views::find(&procs, args[0]) {
        Ok(i) => i,
        Err(e) => return e + "\n",
    };
    crate::capsys::with(|sys| {
        let names = Names::new(sys, &procs);
        f(sys, &procs, &procs[i], &names)
    })
}

/// Like [`with_proc`], also resolving `args[1]` as a slot.
fn with_slot(
    args: &[&str],
    f: impl FnOnce(&mut CapSystem, &[Proc], &Proc, &Names, Slot) -> String,
) -> String {
    with_proc(args, |sys, procs, p, names| {
        match views::parse_slot(sys, p, args[1]) {
            Ok(slot) => f(sys, procs, p, names, slot),
            Err(e) => e + "\n",
        }
    })
}

fn caps_cmd(args: &[&str]) -> String {
    if args.len() != 1 {
        return usage("caps");
    }
    with_proc(args, |sys, _, p, names| caps_listing(sys, p, names))
}

/// `caps PID`'s text, which /proc/PID/caps shows too (one format for both readers).
fn caps_listing(sys: &CapSystem, p: &Proc, names: &Names) -> String {
    let mut s = alloc::format!("pid {} ({}) cspace_{}\n", p.pid, p.name(), p.cspace.0);
    let _ = writeln!(
        s,
        "{:<22} {:<12} {:>6}  {:<16} {:<8} PARENT",
        "SLOT", "TYPE", "OID", "RIGHTS", "BADGE"
    );
    let caps = views::cspace_caps(sys, p.cspace);
    if caps.is_empty() {
        let _ = writeln!(s, "  (no capabilities: the process has exited)");
    }
    for (depth, slot, cap) in caps {
        let parent = names.parent(sys, slot, "-");
        let label = alloc::format!(
            "{:indent$}{}",
            "",
            short(&names.slot(sys, slot)),
            indent = 2 * depth
        );
        let _ = writeln!(
            s,
            "{label:<22} {:<12} {:>6}  {:<16} {:<8} {parent}",
            sys.type_name(&cap).unwrap_or("dead"),
            cap.oid,
            views::rights(sys, &cap),
            if cap.badge == 0 {
                "-".into()
            } else {
                alloc::format!("{:#x}", cap.badge)
            },
        );
    }
    s
}

/// /proc/PID/caps: the console's `caps PID` listing (None for no such process).
pub fn proc_caps_text(pid: u32) -> Option<String> {
    let procs = views::processes();
    let p = procs.iter().find(|p| p.pid == pid && pid != 0)?;
    Some(crate::capsys::with(|sys| {
        let names = Names::new(sys, &procs);
        caps_listing(sys, p, &names)
    }))
}

/// `7:fd:3` -> `fd:3` (inside one process's listing).
fn short(label: &str) -> &str {
    label.split_once(':').map_or(label, |(_, rest)| rest)
}

fn cap_cmd(args: &[&str]) -> String {
    if args.len() != 2 {
        return usage("cap");
    }
    with_slot(args, |sys, procs, _, names, slot| {
        let Some(cap) = sys.cap_at(slot) else {
            return alloc::format!("error: slot {} is empty\n", names.slot(sys, slot));
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} rights {}{}",
            names.slot(sys, slot),
            views::obj_name(sys, &cap),
            views::rights(sys, &cap),
            views::badge(&cap)
        );
        let parent = names.parent(sys, slot, "- (an original)");
        let _ = writeln!(s, "  parent   {parent}");
        let kids: Vec<String> = sys
            .cdt_children(slot)
            .into_iter()
            .map(|k| names.slot(sys, k))
            .collect();
        let _ = writeln!(
            s,
            "  children {}",
            if kids.is_empty() {
                "-".into()
            } else {
                kids.join(" ")
            }
        );
        if let Some((ty, size, count, budget)) = sys.object_summary(cap.oid) {
            let _ = writeln!(
                s,
                "  object   {ty}_{} size {size} charged {} caps {count}",
                cap.oid,
                budget.map_or_else(|| "kernel".into(), |b| alloc::format!("budget_{b}"))
            );
            let attrs = views::attrs(sys, cap.oid);
            if !attrs.is_empty() {
                let _ = writeln!(s, "  state    {attrs}");
            }
        }
        let holders: Vec<String> = views::holders(sys, procs, cap.oid)
            .into_iter()
            .map(|(_, sl)| names.slot(sys, sl))
            .collect();
        let _ = writeln!(s, "  holders  {}", holders.join(" "));
        s
    })
}

fn cdt_cmd(args: &[&str]) -> String {
    if args.len() != 2 {
        return usage("cdt");
    }
    with_slot(args, |sys, _, _, names, slot| {
        if sys.cap_at(slot).is_none() {
            return alloc::format!("error: slot {} is empty\n", names.slot(sys, slot));
        }
        let mut s = String::new();
        let n = views::cdt_lines(sys, names, slot, &mut s);
        let _ = writeln!(s, "({n} capabilities)");
        s
    })
}

fn obj_cmd(args: &[&str]) -> String {
    let [oid] = args else {
        return usage("obj");
    };
    let Some(oid) = views::parse_u64(oid) else {
        return alloc::format!("error: '{oid}' is not an object id\n");
    };
    let procs = views::processes();
    crate::capsys::with(|sys| {
        let Some((ty, size, count, budget)) = sys.object_summary(oid) else {
            return alloc::format!("error: no object {oid}\n");
        };
        let names = Names::new(sys, &procs);
        let mut s = alloc::format!(
            "{ty}_{oid}: type {ty}, live, size {size}, charged {}, {count} caps\n",
            budget.map_or_else(|| "kernel".into(), |b| alloc::format!("budget_{b}"))
        );
        let attrs = views::attrs(sys, oid);
        if !attrs.is_empty() {
            let _ = writeln!(s, "  state: {attrs}");
        }
        if let Some((limit, used)) = sys.budget_usage(oid) {
            let _ = writeln!(s, "  budget: limit {limit} used {used}");
        }
        for (pid, slot) in views::holders(sys, &procs, oid) {
            let Some(cap) = sys.cap_at(slot) else {
                continue;
            };
            let parent = names.parent(sys, slot, "-");
            let _ = writeln!(
                s,
                "  {:<16} {:<16} {}{}  parent {parent}",
                names.slot(sys, slot),
                names.comm(pid),
                views::rights(sys, &cap),
                views::badge(&cap)
            );
        }
        s
    })
}

fn objs_cmd(args: &[&str]) -> String {
    if args.len() > 1 {
        return usage("objs");
    }
    let only = args.first().copied();
    crate::capsys::with(|sys| {
        let mut s = String::new();
        if let Some(t) = only {
            let _ = writeln!(
                s,
                "{:>8} {:<12} {:>10} {:>5}  CHARGED",
                "OID", "TYPE", "SIZE", "CAPS"
            );
            let mut n = 0;
            for oid in sys.oids() {
                let Some((ty, size, count, budget)) = sys.object_summary(oid) else {
                    continue;
                };
                if ty != t {
                    continue;
                }
                n += 1;
                let _ = writeln!(
                    s,
                    "{oid:>8} {ty:<12} {size:>10} {count:>5}  {}",
                    budget.map_or_else(|| "kernel".into(), |b| alloc::format!("budget_{b}"))
                );
            }
            if n == 0 {
                return alloc::format!("error: no objects of type '{t}'\n");
            }
            return s;
        }
        let mut by_type: BTreeMap<&'static str, (usize, u64)> = BTreeMap::new();
        let mut budgets = Vec::new();
        for oid in sys.oids() {
            let Some((ty, size, _, _)) = sys.object_summary(oid) else {
                continue;
            };
            let e = by_type.entry(ty).or_default();
            e.0 += 1;
            e.1 += size;
            if let Some(u) = sys.budget_usage(oid) {
                budgets.push((oid, u));
            }
        }
        let _ = writeln!(s, "{:<12} {:>7} {:>12}", "TYPE", "COUNT", "BYTES");
        for (t, (n, bytes)) in &by_type {
            let _ = writeln!(s, "{t:<12} {n:>7} {bytes:>12}");
        }
        let _ = writeln!(s, "budgets:");
        for (oid, (limit, used)) in budgets {
            let _ = writeln!(s, "  budget_{oid:<6} limit {limit:>12} used {used:>10}");
        }
        s
    })
}

fn capdl_cmd(args: &[&str]) -> String {
    match args {
        [] => {
            let procs = views::processes();
            crate::capsys::with(|sys| {
                let mut s = String::from("-- processes\n");
                for p in &procs {
                    let _ = writeln!(
                        s,
                        "--   pid {} ({}) = cspace_{}",
                        p.pid,
                        p.name(),
                        p.cspace.0
                    );
                }
                s.push_str(&sys.capdl());
                s
            })
        }
        [_] => with_proc(args, |sys, _, p, names| capdl_process(sys, p, names)),
        _ => usage("capdl"),
    }
}

/// One process's part of the capDL dump: its objects, its CNodes' slots, and the
/// derivation edges into its capabilities (parents may be elsewhere).
fn capdl_process(sys: &CapSystem, p: &Proc, names: &Names) -> String {
    let caps = views::cspace_caps(sys, p.cspace);
    let mut s = alloc::format!(
        "-- pid {} ({}) = cspace_{}\n\nobjects {{\n",
        p.pid,
        p.name(),
        p.cspace.0
    );
    let mut oids: Vec<u64> = caps.iter().map(|(_, _, c)| c.oid).collect();
    oids.sort_unstable();
    oids.dedup();
    for oid in oids {
        if let Some((ty, size, _, budget)) = sys.object_summary(oid) {
            let mut attrs = views::attrs(sys, oid);
            if !attrs.is_empty() {
                attrs.push_str(", ");
            }
            let _ = writeln!(
                s,
                "  {ty}_{oid} = {ty} ({attrs}size: {size}, charged: {})",
                budget.map_or_else(|| "kernel".into(), |b| alloc::format!("budget_{b}"))
            );
        }
    }
    s.push_str("}\n\ncaps {\n");
    let mut edges = Vec::new();
    for (_, slot, cap) in &caps {
        let _ = writeln!(
            s,
            "  {}: {} {}{}",
            names.slot(sys, *slot),
            views::obj_name(sys, cap),
            views::rights(sys, cap),
            views::badge(cap)
        );
        if let Some(parent) = sys.cdt_parent(*slot) {
            edges.push(alloc::format!(
                "  {} -> {}{}",
                names.slot(sys, parent),
                names.slot(sys, *slot),
                if sys.is_made(*slot) { " (made)" } else { "" }
            ));
        }
    }
    s.push_str("}\n\ncdt {\n");
    for e in edges {
        s.push_str(&e);
        s.push('\n');
    }
    s.push_str("}\n");
    s
}

fn check_cmd(args: &[&str]) -> String {
    if !args.is_empty() {
        return usage("check");
    }
    crate::capsys::with(|sys| {
        let v = sys.check();
        let objects = sys.object_count();
        if v.is_empty() {
            return alloc::format!("check: {objects} objects, no violations\n");
        }
        let mut s = alloc::format!("check: {objects} objects, {} violations\n", v.len());
        for x in v.iter().take(50) {
            let _ = writeln!(s, "  {x:?}");
        }
        s
    })
}

/// Labels of every capability in the subtree under `slot` (the slot itself excluded).
fn descendants(sys: &CapSystem, names: &Names, slot: Slot) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = sys.cdt_children(slot);
    while let Some(s) = stack.pop() {
        if let Some(c) = sys.cap_at(s) {
            out.push(alloc::format!(
                "{} ({})",
                names.slot(sys, s),
                views::obj_name(sys, &c)
            ));
        }
        if out.len() < 100_000 {
            stack.extend(sys.cdt_children(s));
        }
    }
    out.sort();
    out
}

fn refuse_kernel(p: &Proc) -> Option<String> {
    (p.pid == 0).then(|| "error: the kernel's own capabilities are not changed from here\n".into())
}

/// Endpoint ids by protocol, to say which ones a mutation closed.
fn endpoints() -> Vec<(u64, &'static str)> {
    super::net::stack().map_or_else(Vec::new, |st| super::net::endpoint_ids(&st))
}

/// `; closed 2 tcp, 1 icmp endpoints` for endpoints in `before` and not now.
fn closed_since(before: &[(u64, &'static str)]) -> String {
    let now = endpoints();
    let mut by: BTreeMap<&'static str, usize> = BTreeMap::new();
    for e in before.iter().filter(|e| !now.contains(e)) {
        *by.entry(e.1).or_default() += 1;
    }
    if by.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = by.iter().map(|(k, n)| alloc::format!("{n} {k}")).collect();
    alloc::format!("closed {} endpoints\n", parts.join(", "))
}

fn revoke_cmd(args: &[&str]) -> String {
    if args.len() != 2 {
        return usage("revoke");
    }
    let before = endpoints();
    let s = revoke_caps(args);
    s + &closed_since(&before)
}

fn revoke_caps(args: &[&str]) -> String {
    with_slot(args, |sys, _, p, names, slot| {
        if let Some(e) = refuse_kernel(p) {
            return e;
        }
        let Some(cap) = sys.cap_at(slot) else {
            return alloc::format!("error: slot {} is empty\n", names.slot(sys, slot));
        };
        let gone = descendants(sys, names, slot);
        let budget = sys.type_name(&cap) == Some("budget");
        let obj = views::obj_name(sys, &cap);
        let before = sys.object_count();
        if let Err(e) = sys.revoke(slot) {
            return alloc::format!("error: revoke failed: {e:?}\n");
        }
        let finalized = before.saturating_sub(sys.object_count());
        let mut s = alloc::format!(
            "revoked {} caps derived from {} ({obj}); finalized {finalized} objects\n",
            gone.len(),
            names.slot(sys, slot),
        );
        if budget {
            let _ = writeln!(
                s,
                "  (a Budget: every object charged to it was destroyed with its capabilities)"
            );
        }
        for g in gone {
            let _ = writeln!(s, "  removed {g}");
        }
        s
    })
}

fn delete_cmd(args: &[&str]) -> String {
    if args.len() != 2 {
        return usage("delete");
    }
    let before = endpoints();
    let s = delete_cap(args);
    s + &closed_since(&before)
}

fn delete_cap(args: &[&str]) -> String {
    with_slot(args, |sys, _, p, names, slot| {
        if let Some(e) = refuse_kernel(p) {
            return e;
        }
        let Some(cap) = sys.cap_at(slot) else {
            return alloc::format!("error: slot {} is empty\n", names.slot(sys, slot));
        };
        let label = names.slot(sys, slot);
        let obj = views::obj_name(sys, &cap);
        let kids = sys.cdt_children(slot).len();
        let before = sys.object_count();
        if let Err(e) = sys.delete(slot) {
            return alloc::format!("error: delete failed: {e:?}\n");
        }
        let finalized = before.saturating_sub(sys.object_count());
        alloc::format!(
            "deleted 1 cap {label} ({obj}); {kids} derived caps moved to its parent; finalized {finalized} objects\n"
        )
    })
}

const SIGNALS: &[(&str, u32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("KILL", 9),
    ("USR1", 10),
    ("USR2", 12),
    ("TERM", 15),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
];

fn parse_signal(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    SIGNALS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

fn kill_cmd(args: &[&str]) -> String {
    if args.len() != 2 {
        return usage("kill");
    }
    let Some(sig) = parse_signal(args[1]) else {
        return alloc::format!(
            "error: '{}' is not a signal (1-64, or a name like KILL)\n",
            args[1]
        );
    };
    let procs = views::processes();
    let i = match views::find(&procs, args[0]) {
        Ok(i) => i,
        Err(e) => return e + "\n",
    };
    let Some(p) = procs[i].proc.clone() else {
        return "error: the kernel takes no signals\n".into();
    };
    if p.has_exited() {
        return alloc::format!("error: process {} has already exited\n", p.pid);
    }
    let caps_before = crate::capsys::with(|sys| views::cspace_caps(sys, procs[i].cspace).len());
    let name = p.name();
    p.post_signal(SigInfo {
        signo: sig,
        code: SI_KERNEL,
        ..SigInfo::default()
    });
    // Give it up to a second to act on the signal, then say what happened.
    for _ in 0..100 {
        if p.has_exited() {
            break;
        }
        crate::sched::sleep_ms(10);
    }
    if p.has_exited() {
        alloc::format!(
            "sent signal {sig} to pid {} ({name}); it ended, deleting its CSpace ({caps_before} caps)\n",
            p.pid
        )
    } else {
        alloc::format!(
            "sent signal {sig} to pid {} ({name}); it is still running ({})\n",
            p.pid,
            views::state(&p)
        )
    }
}

fn trace_cmd(args: &[&str]) -> String {
    use super::trace;
    match args {
        [] => {
            let traced: Vec<String> = crate::process::all()
                .into_iter()
                .filter(|p| !p.has_exited() && trace::is_traced(p.pid))
                .map(|p| alloc::format!("{} ({})", p.pid, p.name()))
                .collect();
            alloc::format!(
                "trace all: {}; traced: {}\n",
                if trace::all_on() { "on" } else { "off" },
                if traced.is_empty() {
                    "none".into()
                } else {
                    traced.join(", ")
                }
            )
        }
        [who, onoff] => {
            let on = match *onoff {
                "on" => true,
                "off" => false,
                _ => return usage("trace"),
            };
            if *who == "all" {
                let n = trace::set_all(on);
                return alloc::format!(
                    "trace {} for all {n} processes\n",
                    if on { "on" } else { "off" }
                );
            }
            let Ok(pid) = who.parse::<u32>() else {
                return alloc::format!("error: '{who}' is not a pid\n");
            };
            if trace::set(pid, on) {
                alloc::format!("trace {} for pid {pid}\n", if on { "on" } else { "off" })
            } else {
                alloc::format!("error: no process {pid}\n")
            }
        }
        _ => usage("trace"),
    }
}

fn mem_cmd(args: &[&str]) -> String {
    if !args.is_empty() {
        return usage("mem");
    }
    let f = crate::mm::frames::stats();
    let h = crate::mm::heap::stats();
    let page = crate::mm::PAGE_SIZE;
    let mut s = alloc::format!(
        "frames: {} free of {} ({} KiB free)\nheap:   {} KiB allocated in {} allocations, {} KiB claimed\n",
        f.free,
        f.total,
        f.free * page / 1024,
        h.allocated / 1024,
        h.allocations,
        h.claimed / 1024
    );
    let procs = views::processes();
    crate::capsys::with(|sys| {
        for oid in sys.oids() {
            if let Some((limit, used)) = sys.budget_usage(oid) {
                let _ = writeln!(s, "budget_{oid}: limit {limit} used {used}");
            }
        }
        let _ = writeln!(
            s,
            "{:>5}  {:<16} {:>7} {:>12}",
            "PID", "COMMAND", "OBJECTS", "BYTES"
        );
        for p in &procs {
            let mut oids: Vec<u64> = views::cspace_caps(sys, p.cspace)
                .into_iter()
                .map(|(_, _, c)| c.oid)
                .collect();
            oids.sort_unstable();
            oids.dedup();
            if oids.is_empty() {
                continue;
            }
            let bytes: u64 = oids
                .iter()
                .filter_map(|&o| sys.object_summary(o))
                .filter(|(ty, ..)| *ty != "budget")
                .map(|(_, size, ..)| size)
                .sum();
            let _ = writeln!(
                s,
                "{:>5}  {:<16} {:>7} {bytes:>12}",
                p.pid,
                p.name(),
                oids.len()
            );
        }
    });
    s
}

fn net_cmd(args: &[&str]) -> String {
    if !args.is_empty() {
        return usage("net");
    }
    match super::net::stack() {
        Some(st) => super::net::net_text(&st),
        None => "net: no network stack in this kernel (no network device)\n".into(),
    }
}

fn socks_cmd(args: &[&str]) -> String {
    if !args.is_empty() {
        return usage("socks");
    }
    let Some(st) = super::net::stack() else {
        return "socks: no network stack in this kernel (no network device)\n".into();
    };
    let procs = views::processes();
    // Each endpoint by the descriptor slots holding it, and the capability that made
    // it (its made CDT parent: a NetStack cap, or a listener for an accepted one).
    let holders: BTreeMap<u64, String> = crate::capsys::with(|sys| {
        let names = Names::new(sys, &procs);
        let mut m: BTreeMap<u64, String> = BTreeMap::new();
        for p in &procs {
            for (_, slot, cap) in views::cspace_caps(sys, p.cspace) {
                let Some(f) = sys.object::<linux_personality::file::FileObject>(&cap) else {
                    continue;
                };
                let Some(sock) = linux_personality::net::Socket::of(&f.0.ops) else {
                    continue;
                };
                let Some(inet) = sock.inet_ref() else {
                    continue;
                };
                let e = m.entry(inet.ep.id()).or_default();
                if !e.is_empty() {
                    e.push(',');
                }
                e.push_str(&names.slot(sys, slot));
                if let Some(maker) = sys.cdt_parent(slot).filter(|_| sys.is_made(slot)) {
                    e.push_str(" made by ");
                    e.push_str(&names.slot(sys, maker));
                }
            }
        }
        m
    });
    super::net::socks_text(&st, &|id| {
        holders
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "(no capability: being closed)".into())
    })
}
