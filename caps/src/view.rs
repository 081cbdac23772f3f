//! Text views for people: a CSpace, a derivation subtree, and a capDL-style dump.
//!
//! The debug console and /proc/PID/caps print these. Every listing is ordered by
//! something stable (slot index, oid), so two identical runs print identical text.
//! Objects are named `TYPE_OID` (`cnode_3`, `tcp_17`); slots `cnode_3[0x5]`, and a
//! CSpace's root slot `cspace_0`.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::error::{Error, LookupFault, Result};
use crate::object::Body;
use crate::system::{CSpaceId, CapSystem, Holder, Slot, NIL};

impl CapSystem {
    fn obj_name(&self, obj: u32) -> String {
        match self.obj(obj) {
            Some(e) => alloc::format!("{}_{}", e.body.type_name(), e.oid),
            None => String::from("dead"),
        }
    }

    /// `cnode_3[0x5]` or `cspace_0`.
    pub fn slot_name(&self, slot: Slot) -> String {
        match slot.holder {
            Holder::Root(cs) => alloc::format!("cspace_{cs}"),
            Holder::CNode { oid, .. } => alloc::format!("cnode_{oid}[{:#x}]", slot.index),
        }
    }

    fn cap_summary(&self, c: u32) -> String {
        let n = self.node(c);
        let names = self.obj(n.obj).map_or(&[][..], |e| e.body.right_names());
        let mut s = alloc::format!("{} {}", self.obj_name(n.obj), n.rights.display(names));
        if n.badge != 0 {
            let _ = write!(s, " badge={:#x}", n.badge);
        }
        s
    }

    /// One line per occupied slot reachable from the CSpace root, depth first in slot
    /// order: CPtr/depth, slot, type, object id, rights, badge, CDT parent. A CNode
    /// reached twice is listed once.
    pub fn cspace_text(&self, cs: CSpaceId) -> String {
        let mut out = String::new();
        let root = self.roots.get(cs.0 as usize).copied().unwrap_or(NIL);
        let _ = writeln!(out, "cspace_{}:", cs.0);
        if root == NIL {
            let _ = writeln!(out, "  (no root)");
            return out;
        }
        let _ = writeln!(
            out,
            "  {:<22} {:<16} {:<8} {:>6}  {:<12} {:<8} parent",
            "cptr/depth", "slot", "type", "oid", "rights", "badge"
        );
        let mut seen = BTreeSet::new();
        // (CNode object, cptr prefix, bits used so far); pushed in reverse slot order
        // so slot 0 is printed first.
        let mut stack: Vec<(u32, u64, u32)> = alloc::vec![(self.node(root).obj, 0, 0)];
        while let Some((obj, prefix, used)) = stack.pop() {
            let Some(e) = self.obj(obj) else { continue };
            let Body::CNode(cn) = &e.body else { continue };
            if !seen.insert(e.oid) {
                continue;
            }
            let level = cn.guard_size as u32 + cn.radix as u32;
            let mut children = Vec::new();
            for (i, &c) in cn.slots.iter().enumerate() {
                if c == NIL || used + level > 64 {
                    continue;
                }
                let depth = used + level;
                let bits = (cn.guard << cn.radix) | i as u64;
                let cptr = prefix | bits.checked_shl(64 - depth).unwrap_or(0);
                let n = self.node(c);
                let obj_e = self.obj(n.obj);
                let names = obj_e.map_or(&[][..], |o| o.body.right_names());
                let parent = self.parent_name(c);
                let _ = writeln!(
                    out,
                    "  {:<22} {:<16} {:<8} {:>6}  {:<12} {:<8} {}",
                    alloc::format!("{cptr:#x}/{depth}"),
                    self.slot_name(n.loc),
                    obj_e.map_or("dead", |o| o.body.type_name()),
                    obj_e.map_or(0, |o| o.oid),
                    alloc::format!("{}", n.rights.display(names)),
                    if n.badge == 0 {
                        String::from("-")
                    } else {
                        alloc::format!("{:#x}", n.badge)
                    },
                    parent
                );
                if depth < 64 && matches!(obj_e.map(|o| &o.body), Some(Body::CNode(_))) {
                    children.push((n.obj, cptr, depth));
                }
            }
            stack.extend(children.into_iter().rev());
        }
        out
    }

    /// The CDT parent of capability `c` by slot name, `-` for none; a made
    /// capability's parent (the other object's cap it was created through) is marked.
    fn parent_name(&self, c: u32) -> String {
        let n = self.node(c);
        match n.parent {
            NIL => String::from("-"),
            p if n.made => alloc::format!("{} (made)", self.slot_name(self.node(p).loc)),
            p => self.slot_name(self.node(p).loc),
        }
    }

    /// The derivation subtree under the capability in `slot`, indented by depth.
    pub fn cdt_text(&self, slot: Slot) -> Result<String> {
        let top = self.slot_content(slot, false)?;
        if top == NIL {
            return Err(Error::lookup(
                false,
                LookupFault::MissingCapability { bits_left: 0 },
            ));
        }
        let mut out = String::new();
        let mut stack = alloc::vec![(top, 0usize)];
        while let Some((c, depth)) = stack.pop() {
            let n = self.node(c);
            let _ = writeln!(
                out,
                "{:indent$}{} {}",
                "",
                self.slot_name(n.loc),
                self.cap_summary(c),
                indent = 2 * depth
            );
            let mut kids = Vec::new();
            let mut ch = n.first_child;
            while ch != NIL {
                kids.push(ch);
                ch = self.node(ch).next_sib;
            }
            // Children print in slot order for stable output.
            kids.sort_by_key(|&k| core::cmp::Reverse(self.node(k).loc));
            stack.extend(kids.into_iter().map(|k| (k, depth + 1)));
        }
        Ok(out)
    }

    /// A capDL-style description of the whole system: objects, the capabilities in
    /// every CNode and CSpace root, and the derivation edges.
    pub fn capdl(&self) -> String {
        let mut out = String::from("-- Writ capability system (capDL-style)\n\nobjects {\n");
        for &idx in self.by_oid.values() {
            let Some(e) = self.obj(idx) else { continue };
            let _ = write!(out, "  {} = {} (", self.obj_name(idx), e.body.type_name());
            match &e.body {
                Body::CNode(cn) => {
                    let _ = write!(
                        out,
                        "radix: {}, guard: {:#x}/{}, ",
                        cn.radix, cn.guard, cn.guard_size
                    );
                }
                Body::Budget(b) => {
                    let _ = write!(out, "limit: {}, used: {}, ", b.limit, b.used);
                }
                Body::Ext(o) => {
                    let mut attrs = String::new();
                    let _ = o.capdl_attrs(&mut attrs);
                    if !attrs.is_empty() {
                        let _ = write!(out, "{attrs}, ");
                    }
                }
            }
            let charged = match e.charged_to {
                NIL => String::from("kernel"),
                b => self.obj_name(b),
            };
            let _ = writeln!(out, "size: {}, charged: {charged})", e.size);
        }
        out.push_str("}\n\ncaps {\n");
        for (cs, &r) in self.roots.iter().enumerate() {
            if r != NIL {
                let _ = writeln!(out, "  cspace_{cs}: {}", self.cap_summary(r));
            }
        }
        let mut edges = Vec::new();
        for &idx in self.by_oid.values() {
            let Some(Body::CNode(cn)) = self.obj(idx).map(|e| &e.body) else {
                continue;
            };
            let _ = writeln!(out, "  {} {{", self.obj_name(idx));
            for (i, &c) in cn.slots.iter().enumerate() {
                if c == NIL {
                    continue;
                }
                let _ = writeln!(out, "    {i:#x}: {}", self.cap_summary(c));
                let p = self.node(c).parent;
                if p != NIL {
                    edges.push((self.node(c).loc, self.node(p).loc, self.node(c).made));
                }
            }
            out.push_str("  }\n");
        }
        for &r in &self.roots {
            if r != NIL && self.node(r).parent != NIL {
                let n = self.node(r);
                edges.push((n.loc, self.node(n.parent).loc, n.made));
            }
        }
        out.push_str("}\n\ncdt {\n");
        edges.sort();
        for (child, parent, made) in edges {
            let _ = writeln!(
                out,
                "  {} -> {}{}",
                self.slot_name(parent),
                self.slot_name(child),
                if made { " (made)" } else { "" }
            );
        }
        out.push_str("}\n");
        out
    }

    /// One object in detail: type, size, Budget, capability count, and where each
    /// of its capabilities lives (the console's `obj OID`).
    pub fn object_text(&self, oid: crate::object::Oid) -> Option<String> {
        let &idx = self.by_oid.get(&oid)?;
        let e = self.obj(idx)?;
        let charged = match e.charged_to {
            NIL => String::from("kernel"),
            b => self.obj_name(b),
        };
        let mut out = alloc::format!(
            "{}: size {} charged {} caps {}\n",
            self.obj_name(idx),
            e.size,
            charged,
            e.cap_count
        );
        let mut holders = Vec::new();
        let mut c = e.caps_head;
        while c != NIL {
            holders.push(c);
            c = self.node(c).obj_next;
        }
        holders.sort_by_key(|&c| self.node(c).loc);
        for c in holders {
            let n = self.node(c);
            let parent = self.parent_name(c);
            let _ = writeln!(
                out,
                "  {} {} parent {}",
                self.slot_name(n.loc),
                self.cap_summary(c),
                parent
            );
        }
        Some(out)
    }

    /// One line per live object, by oid, optionally only of one type (the console's
    /// `objs [TYPE]`).
    pub fn objects_text(&self, type_name: Option<&str>) -> String {
        let mut out = String::new();
        for (&oid, &idx) in &self.by_oid {
            let Some(e) = self.obj(idx) else { continue };
            if type_name.is_some_and(|t| t != e.body.type_name()) {
                continue;
            }
            let _ = writeln!(
                out,
                "{oid:>8} {:<10} size {:>8} caps {}",
                e.body.type_name(),
                e.size,
                e.cap_count
            );
        }
        out
    }
}
