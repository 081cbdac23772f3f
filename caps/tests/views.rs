//! Text views: what the debug console and /proc/PID/caps will print.

mod common;

use caps::{CapSystem, Rights, Slot};
use common::*;

fn build() -> (CapSystem, Process) {
    let mut sys = CapSystem::new();
    let p = process(&mut sys, 4, 10_000);
    let f = finals();
    let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
    sys.create_object(p.budget, fd0, probe(1, &f), Rights::ALL)
        .unwrap();
    let fd1 = sys.cnode_slot(p.fds, 1).unwrap();
    sys.mint(fd0, fd1, Rights::READ | Rights::DUP | PROBE_FROB, 0x42)
        .unwrap();
    let fd2 = sys.cnode_slot(p.fds, 2).unwrap();
    sys.copy(fd1, fd2, Rights::READ).unwrap();
    (sys, p)
}

#[test]
fn cspace_view_lists_slots_types_rights_badges_parents() {
    let (sys, p) = build();
    let text = sys.cspace_text(p.cs);
    let fd_cnode = p.fds;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "cspace_0:");
    assert!(lines[1].contains("cptr/depth") && lines[1].contains("parent"));
    // The fd CNode in root slot 0, then its fds (depth first), then the authority.
    assert!(
        lines[2].contains("0x0/4") && lines[2].contains("cnode"),
        "{text}"
    );
    let fd1 = lines
        .iter()
        .find(|l| l.contains(&format!("cnode_{fd_cnode}[0x1]")) && l.contains("probe"))
        .unwrap();
    assert!(fd1.contains("0x1/64"), "{fd1}");
    assert!(fd1.contains("R--D+FROB"), "{fd1}");
    assert!(fd1.contains("0x42"), "{fd1}");
    assert!(fd1.ends_with(&format!("cnode_{fd_cnode}[0x0]")), "{fd1}");
    let auth_budget = lines.iter().find(|l| l.contains("budget")).unwrap();
    assert!(
        auth_budget.contains("0x1000000000000000/64"),
        "{auth_budget}"
    );
}

#[test]
fn cdt_view_indents_descendants() {
    let (sys, p) = build();
    let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
    let text = sys.cdt_text(fd0).unwrap();
    let f = p.fds;
    let probe_oid = sys.cap_at(fd0).unwrap().oid;
    assert_eq!(
        text,
        format!(
            "cnode_{f}[0x0] probe_{probe_oid} RWGD+*\n\
             \x20 cnode_{f}[0x1] probe_{probe_oid} R--D+FROB badge=0x42\n\
             \x20   cnode_{f}[0x2] probe_{probe_oid} R--- badge=0x42\n"
        )
    );
    assert!(sys.cdt_text(sys.cnode_slot(p.fds, 9).unwrap()).is_err());
}

#[test]
fn capdl_dump_is_complete_and_deterministic() {
    let (a, p) = build();
    let (b, _) = build();
    let dump = a.capdl();
    assert_eq!(dump, b.capdl());
    let probe_oid = a.cap_at(a.cnode_slot(p.fds, 0).unwrap()).unwrap().oid;
    let budget = a.cap_at(p.budget).unwrap().oid;
    assert!(dump.contains(&format!(
        "probe_{probe_oid} = probe (tag: 1, size: 100, charged: budget_{budget})"
    )));
    assert!(dump.contains(&format!(
        "cnode_{} = cnode (radix: 4, guard: 0x0/56, size: 576, charged: budget_{budget})",
        p.fds
    )));
    assert!(dump.contains("cspace_0: cnode_1 "));
    assert!(dump.contains(&format!("cnode_{f}[0x0] -> cnode_{f}[0x1]", f = p.fds)));
    assert!(dump.contains(&format!("cnode_{f}[0x1] -> cnode_{f}[0x2]", f = p.fds)));
    // Every live object appears once in the objects section.
    let objects = dump.split("caps {").next().unwrap();
    assert_eq!(objects.matches(" = ").count(), a.object_count());
    // A root-less CSpace says so.
    let mut c = CapSystem::new();
    let cs = c.create_cspace(None, 2, 0, 0).unwrap();
    c.delete(Slot::root(cs)).unwrap();
    assert!(c.cspace_text(cs).contains("(no root)"));
}

#[test]
fn object_views_and_entries() {
    let (sys, p) = build();
    let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
    let oid = sys.cap_at(fd0).unwrap().oid;
    let text = sys.object_text(oid).unwrap();
    let f = p.fds;
    assert!(
        text.starts_with(&format!("probe_{oid}: size 100 charged budget_")),
        "{text}"
    );
    assert!(text.contains(" caps 3\n"), "{text}");
    assert!(
        text.contains(&format!(
            "cnode_{f}[0x2] probe_{oid} R--- badge=0x42 parent cnode_{f}[0x1]"
        )),
        "{text}"
    );
    assert_eq!(sys.object_text(9999), None);
    let probes = sys.objects_text(Some("probe"));
    assert_eq!(probes.lines().count(), 1);
    assert!(probes.contains("probe") && probes.contains("caps 3"));
    assert_eq!(sys.objects_text(None).lines().count(), sys.object_count());
    let entries = sys.cnode_entries(p.fds);
    assert_eq!(entries.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(entries[1].1.badge, 0x42);
    assert!(sys.cnode_entries(oid).is_empty());
}

#[test]
fn object_accessors_for_outside_views() {
    let (sys, p) = build();
    let fd0 = sys.cnode_slot(p.fds, 0).unwrap();
    let cap = sys.cap_at(fd0).unwrap();
    assert_eq!(sys.right_names(&cap), &[("FROB", PROBE_FROB)]);
    let oids: Vec<u64> = sys.oids().collect();
    assert!(oids.windows(2).all(|w| w[0] < w[1]), "{oids:?}");
    assert_eq!(oids.len(), sys.object_count());
    let budget = sys.cap_at(p.budget).unwrap().oid;
    let (ty, size, count, charged) = sys.object_summary(cap.oid).unwrap();
    assert_eq!((ty, count, charged), ("probe", 3, Some(budget)));
    assert!(size > 0);
    let (ty, _, _, charged) = sys.object_summary(p.fds).unwrap();
    assert_eq!((ty, charged), ("cnode", Some(budget)));
    assert_eq!(sys.object_summary(9999), None);
    let mut a = String::new();
    sys.object_attrs(p.fds, &mut a).unwrap();
    assert!(a.starts_with("radix: "), "{a}");
    let mut a = String::new();
    sys.object_attrs(budget, &mut a).unwrap();
    assert!(a.starts_with("limit: 10000, used: "), "{a}");
    // The capDL dump prints the same attributes.
    let mut a = String::new();
    sys.object_attrs(cap.oid, &mut a).unwrap();
    assert!(sys.capdl().contains(&a), "{a}");
}
