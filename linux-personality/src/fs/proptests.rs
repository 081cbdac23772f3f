//! Property test: random sequences of mkdir, create, unlink, rmdir, rename and symlink
//! over a small set of names, checked step by step against a model (a map from path
//! to kind). After every step: the result (value or errno) is the model's, the tree
//! holds exactly the model's paths, every directory's link count is 2 + its
//! subdirectories and its subdirectories' `..` is itself, and no inode is alive that
//! the tree does not reach (nothing is held open, so an orphan would be a leak).

use std::collections::BTreeMap;
use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use proptest::prelude::*;

use super::inode::{Inode, NodeKind};
use super::namei::Walker;
use super::{open, ops, Creds, FsContext, Tmpfs};
use crate::abi::Errno;
use crate::file::flags::*;

#[derive(Clone, Debug, PartialEq, Eq)]
enum MKind {
    Dir,
    File,
    Link(String),
}

type Path = Vec<u8>; // indices into NAMES
const NAMES: [&str; 3] = ["a", "b", "c"];

fn text(p: &[u8]) -> String {
    let mut s = String::new();
    for &i in p {
        s.push('/');
        s.push_str(NAMES[i as usize]);
    }
    s
}

#[derive(Clone, Debug)]
enum Op {
    Mkdir(Path),
    Create(Path),
    Unlink(Path),
    Rmdir(Path),
    Rename(Path, Path),
    Symlink(Path, Path),
}

fn path() -> impl Strategy<Value = Path> {
    proptest::collection::vec(0u8..3, 1..=3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => path().prop_map(Op::Mkdir),
        3 => path().prop_map(Op::Create),
        2 => path().prop_map(Op::Unlink),
        2 => path().prop_map(Op::Rmdir),
        3 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (path(), path()).prop_map(|(a, b)| Op::Symlink(a, b)),
    ]
}

struct Model(BTreeMap<Path, MKind>);

impl Model {
    /// The parent of `p` must be a directory; None when the walk would cross a symlink
    /// (the model does not follow links, so such steps are not run).
    fn parent_ok(&self, p: &[u8]) -> Option<Result<(), Errno>> {
        for n in 1..p.len() {
            match self.0.get(&p[..n]) {
                None => return Some(Err(Errno::ENOENT)),
                Some(MKind::File) => return Some(Err(Errno::ENOTDIR)),
                Some(MKind::Link(_)) => return None,
                Some(MKind::Dir) => {}
            }
        }
        Some(Ok(()))
    }

    fn has_children(&self, p: &[u8]) -> bool {
        self.0.keys().any(|k| k.len() > p.len() && k.starts_with(p))
    }

    /// The expected result, applying the change; None to skip the step.
    fn apply(&mut self, op: &Op) -> Option<Result<(), Errno>> {
        match op {
            Op::Mkdir(p) | Op::Create(p) | Op::Symlink(_, p) => {
                if let Err(e) = self.parent_ok(p)? {
                    return Some(Err(e));
                }
                if self.0.contains_key(p) {
                    return Some(Err(Errno::EEXIST));
                }
                let kind = match op {
                    Op::Mkdir(_) => MKind::Dir,
                    Op::Create(_) => MKind::File,
                    Op::Symlink(t, _) => MKind::Link(text(t)),
                    _ => unreachable!(),
                };
                self.0.insert(p.clone(), kind);
                Some(Ok(()))
            }
            Op::Unlink(p) => {
                if let Err(e) = self.parent_ok(p)? {
                    return Some(Err(e));
                }
                match self.0.get(p) {
                    None => Some(Err(Errno::ENOENT)),
                    Some(MKind::Dir) => Some(Err(Errno::EISDIR)),
                    Some(_) => {
                        self.0.remove(p);
                        Some(Ok(()))
                    }
                }
            }
            Op::Rmdir(p) => {
                if let Err(e) = self.parent_ok(p)? {
                    return Some(Err(e));
                }
                match self.0.get(p) {
                    None => Some(Err(Errno::ENOENT)),
                    Some(MKind::Dir) if self.has_children(p) => Some(Err(Errno::ENOTEMPTY)),
                    Some(MKind::Dir) => {
                        self.0.remove(p);
                        Some(Ok(()))
                    }
                    Some(_) => Some(Err(Errno::ENOTDIR)),
                }
            }
            Op::Rename(p, q) => {
                let po = self.parent_ok(p)?;
                let pn = self.parent_ok(q)?;
                if let Err(e) = po.and(pn) {
                    return Some(Err(e));
                }
                let Some(old) = self.0.get(p).cloned() else {
                    return Some(Err(Errno::ENOENT));
                };
                let new = self.0.get(q).cloned();
                let q_parent = &q[..q.len() - 1];
                let p_parent = &p[..p.len() - 1];
                if old == MKind::Dir && q_parent.starts_with(p) {
                    return Some(Err(Errno::EINVAL));
                }
                if new == Some(MKind::Dir) && p_parent.starts_with(q) {
                    return Some(Err(Errno::ENOTEMPTY));
                }
                if p == q {
                    return Some(Ok(()));
                }
                match (&old, &new) {
                    (MKind::Dir, Some(n)) if *n != MKind::Dir => return Some(Err(Errno::ENOTDIR)),
                    (o, Some(MKind::Dir)) if *o != MKind::Dir => return Some(Err(Errno::EISDIR)),
                    (_, Some(MKind::Dir)) if self.has_children(q) => {
                        return Some(Err(Errno::ENOTEMPTY))
                    }
                    _ => {}
                }
                self.0.remove(q);
                let moved: Vec<(Path, MKind)> = self
                    .0
                    .iter()
                    .filter(|(k, _)| k.starts_with(p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in moved {
                    self.0.remove(&k);
                    let mut nk = q.clone();
                    nk.extend_from_slice(&k[p.len()..]);
                    self.0.insert(nk, v);
                }
                Some(Ok(()))
            }
        }
    }
}

fn run(ctx: &FsContext, op: &Op) -> Result<(), Errno> {
    let creds = Creds::root();
    let root = &ctx.root;
    let t = |p: &Path| text(p).into_bytes();
    match op {
        Op::Mkdir(p) => ops::mkdir(ctx, &creds, root, &t(p), 0o755).map(|_| ()),
        Op::Create(p) => {
            open::open(ctx, &creds, root, &t(p), O_CREAT | O_EXCL | O_WRONLY, 0o644).map(|_| ())
        }
        Op::Unlink(p) => ops::unlink(ctx, &creds, root, &t(p)),
        Op::Rmdir(p) => ops::rmdir(ctx, &creds, root, &t(p)),
        Op::Rename(p, q) => ops::rename(ctx, &creds, (root, &t(p)), (root, &t(q)), 0),
        Op::Symlink(target, p) => ops::symlink(ctx, &creds, &t(target), root, &t(p)).map(|_| ()),
    }
}

/// The real tree as a model, checking the link-count and `..` invariants on the way;
/// returns it and how many inodes it reaches.
fn snapshot(dir: &Arc<Inode>, prefix: &mut Path, out: &mut BTreeMap<Path, MKind>) -> usize {
    let entries = dir.entries();
    let subdirs = entries.iter().filter(|(_, n)| n.is_dir()).count();
    assert_eq!(
        dir.nlink() as usize,
        2 + subdirs,
        "link count of {}",
        text(prefix)
    );
    let mut reached = 1;
    for (name, node) in entries {
        let idx = NAMES
            .iter()
            .position(|n| n.as_bytes() == name.as_slice())
            .expect("only known names") as u8;
        prefix.push(idx);
        match node.kind {
            NodeKind::Dir => {
                assert!(
                    Arc::ptr_eq(&node.parent().expect("a parent"), dir),
                    "`..` of {}",
                    text(prefix)
                );
                out.insert(prefix.clone(), MKind::Dir);
                reached += snapshot(&node, prefix, out);
            }
            NodeKind::File => {
                assert_eq!(node.nlink(), 1);
                out.insert(prefix.clone(), MKind::File);
                reached += 1;
            }
            NodeKind::Symlink => {
                let t = String::from_utf8(node.link_target().expect("a target")).expect("utf-8");
                out.insert(prefix.clone(), MKind::Link(t));
                reached += 1;
            }
            k => panic!("unexpected {k:?}"),
        }
        prefix.pop();
    }
    reached
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn namespace_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        let fs = Tmpfs::new(1 << 20);
        let ctx = FsContext::new(&fs);
        let mut model = Model(BTreeMap::new());
        for op in &ops {
            let Some(expect) = model.apply(op) else { continue };
            let got = run(&ctx, op);
            prop_assert_eq!(got, expect, "{:?}", op);
            let mut tree = BTreeMap::new();
            let reached = snapshot(fs.root(), &mut Vec::new(), &mut tree);
            prop_assert_eq!(&tree, &model.0);
            prop_assert_eq!(fs.superblock().live_inodes(), reached, "orphans alive");
            // Every path over the names resolves (without following a last symlink)
            // to what the model holds, unless the walk crosses a symlink.
            let creds = Creds::root();
            for len in 1..=3u32 {
                for code in 0..3u32.pow(len) {
                    let p: Path = (0..len).map(|i| ((code / 3u32.pow(i)) % 3) as u8).collect();
                    let Some(parent) = model.parent_ok(&p) else { continue };
                    let got = Walker::new(&ctx, &creds).resolve(fs.root(), text(&p).as_bytes(), false);
                    match (parent, model.0.get(&p)) {
                        (Err(e), _) => prop_assert_eq!(got.err(), Some(e)),
                        (Ok(()), None) => prop_assert_eq!(got.err(), Some(Errno::ENOENT)),
                        (Ok(()), Some(k)) => {
                            let node = got.expect("resolves");
                            let kind = match k {
                                MKind::Dir => NodeKind::Dir,
                                MKind::File => NodeKind::File,
                                MKind::Link(_) => NodeKind::Symlink,
                            };
                            prop_assert_eq!(node.kind, kind);
                        }
                    }
                }
            }
        }
    }
}
