//! File descriptors are capabilities: fd N is slot N of the process's fd CNode.
//!
//! The CSpace shape is the one the caps crate documents: a root CNode of radix 4
//! (guard 0) whose slot 0 holds the fd CNode (radix R, guard 60 - R, so fd N is CPtr N
//! for every R) and slot 1 the authority CNode (NetStack, Budget, ...). The fd CNode
//! starts small and grows by powers of two up to RLIMIT_NOFILE.
//!
//! Every operation is a capability operation: open installs a new FileObject cap in
//! the lowest free slot; `dup` is Copy (the copy is a CDT child of the original);
//! `close` is Delete; fork copies every slot into the child's CSpace; exec deletes the
//! slots marked close-on-exec. The CLOEXEC bit belongs to the descriptor, not the
//! file, so it lives here beside the CNode, not in the capability.
//!
//! Tracing: when the kernel sets [`FdTable::tracer`] (the debug console's `trace`),
//! every capability operation here reports a [`CapUse`] to it; unset, the cost is one
//! branch per operation. Fork copies the tracer, so a traced process's children are
//! traced too (as `strace -f`).

use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::vec::Vec;

use caps::{CSpaceId, Cap, CapSystem, Error as CapError, Oid, Rights, Slot};

use crate::abi::Errno;
use crate::file::{FileObject, OpenFile};

/// Radix of a new process's fd CNode (64 descriptors before the first growth).
pub const INITIAL_FD_RADIX: u8 = 6;
/// Linux's default soft RLIMIT_NOFILE.
pub const DEFAULT_NOFILE: u32 = 1024;
/// Its hard maximum (Linux's default nr_open).
pub const MAX_NOFILE: u64 = 1 << 20;
/// Root CNode slots.
pub const ROOT_FD_SLOT: u32 = 0;
pub const ROOT_AUTHORITY_SLOT: u32 = 1;
/// Authority CNode slots.
pub const AUTH_BUDGET: u32 = 0;
pub const AUTH_NETSTACK: u32 = 1;
/// Where [`FdTable::make`] puts a copy of the fd CNode's capability for the length of
/// one creating invocation (its destination root); empty otherwise, so the fd CNode
/// has one capability, root:0, and deleting that ends every descriptor.
pub const AUTH_FD_CNODE: u32 = 2;
const AUTHORITY_RADIX: u8 = 4;

/// A capability operation the personality performed on a process's behalf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapOp {
    /// The capability was looked up for a use that needs these rights (read, write...).
    Use(Rights),
    /// A new object was created; its capability went into the slot.
    Create,
    /// The capability was copied into the slot with CPtr `dst` (dup, dup2).
    Copy { dst: u64 },
    /// The capability was deleted (close).
    Delete,
    /// The capability was invoked with `label` (`FdTable::invoke`).
    Invoke { label: u64 },
}

/// Why a traced operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapFail {
    Errno(Errno),
    Cap(CapError),
}

/// One traced capability operation: the CPtr in the process's CSpace (fd N is CPtr N),
/// what was done, the capability (None for an empty slot) and the outcome.
#[derive(Clone, Copy, Debug)]
pub struct CapUse {
    pub cptr: u64,
    pub op: CapOp,
    pub cap: Option<Cap>,
    pub result: Result<(), CapFail>,
}

/// The kernel's trace sink; it runs with the capability lock held and must not block.
pub type Tracer = fn(&CapSystem, &CapUse);

/// CPtr of slot `k` of the authority CNode (see the module doc).
pub const fn authority_cptr(k: u32) -> u64 {
    1 << 60 | k as u64
}

pub struct FdTable {
    pub cspace: CSpaceId,
    fd_cnode: Oid,
    authority: Oid,
    cloexec: BTreeSet<u32>,
    /// RLIMIT_NOFILE: descriptors must be below this.
    pub limit: u32,
    /// Every resource limit (soft, hard), RLIMIT_NOFILE's soft value mirrored in
    /// `limit`. Kept here because, like the descriptors, fork copies them and exec
    /// keeps them.
    pub rlimits: [(u64, u64); 16],
    /// Set while the debug console traces this process.
    pub tracer: Option<Tracer>,
}

const INF: u64 = u64::MAX;

/// Linux's defaults for init (what a shell on a fresh system sees).
pub const DEFAULT_RLIMITS: [(u64, u64); 16] = [
    (INF, INF),                          // CPU
    (INF, INF),                          // FSIZE
    (INF, INF),                          // DATA
    (8 << 20, INF),                      // STACK
    (0, INF),                            // CORE
    (INF, INF),                          // RSS
    (63_535, 63_535),                    // NPROC
    (DEFAULT_NOFILE as u64, MAX_NOFILE), // NOFILE
    (8 << 20, 8 << 20),                  // MEMLOCK
    (INF, INF),                          // AS
    (INF, INF),                          // LOCKS
    (63_535, 63_535),                    // SIGPENDING
    (819_200, 819_200),                  // MSGQUEUE
    (0, 0),                              // NICE
    (0, 0),                              // RTPRIO
    (INF, INF),                          // RTTIME
];

fn trace(
    t: Tracer,
    sys: &CapSystem,
    cptr: u64,
    op: CapOp,
    cap: Option<Cap>,
    r: Result<(), &Errno>,
) {
    let result = r.map_err(|e| CapFail::Errno(*e));
    t(
        sys,
        &CapUse {
            cptr,
            op,
            cap,
            result,
        },
    );
}

fn cap_err(e: CapError) -> Errno {
    match e {
        CapError::NotEnoughMemory { .. } => Errno::ENOMEM,
        CapError::InsufficientRights { .. } => Errno::EBADF,
        _ => Errno::EBADF,
    }
}

impl FdTable {
    /// A new CSpace with an empty fd CNode and an authority CNode whose Budget slot
    /// holds a copy of `budget` (what this process's objects are charged to).
    pub fn new(sys: &mut CapSystem, budget: Slot) -> Result<FdTable, Errno> {
        let cspace = sys.create_cspace(None, 4, 0, 0).map_err(cap_err)?;
        let root = sys.cap_at(Slot::root(cspace)).ok_or(Errno::ENOMEM)?;
        let fd_slot = sys.slot_of(&root, ROOT_FD_SLOT).map_err(cap_err)?;
        let auth_slot = sys.slot_of(&root, ROOT_AUTHORITY_SLOT).map_err(cap_err)?;
        let made = (|| {
            let fd =
                sys.create_cnode(budget, fd_slot, INITIAL_FD_RADIX, 60 - INITIAL_FD_RADIX, 0)?;
            let auth =
                sys.create_cnode(budget, auth_slot, AUTHORITY_RADIX, 60 - AUTHORITY_RADIX, 0)?;
            let b = sys.cnode_slot(auth.oid, AUTH_BUDGET)?;
            sys.copy(budget, b, Rights::ALL)?;
            Ok::<_, CapError>((fd.oid, auth.oid))
        })();
        match made {
            Ok((fd_cnode, authority)) => Ok(FdTable {
                cspace,
                fd_cnode,
                authority,
                cloexec: BTreeSet::new(),
                limit: DEFAULT_NOFILE,
                rlimits: DEFAULT_RLIMITS,
                tracer: None,
            }),
            Err(e) => {
                let _ = sys.destroy_cspace(cspace);
                Err(cap_err(e))
            }
        }
    }

    /// The slot of authority capability `index` (Budget, NetStack, ...).
    pub fn authority_slot(&self, sys: &CapSystem, index: u32) -> Result<Slot, Errno> {
        sys.cnode_slot(self.authority, index).map_err(cap_err)
    }

    fn budget(&self, sys: &CapSystem) -> Result<Slot, Errno> {
        self.authority_slot(sys, AUTH_BUDGET)
    }

    fn capacity(&self, sys: &CapSystem) -> u32 {
        sys.cnode_radix(self.fd_cnode).map_or(0, |r| 1u32 << r)
    }

    fn fd_slot(&self, sys: &CapSystem, fd: u32) -> Option<Slot> {
        if fd >= self.capacity(sys) {
            return None;
        }
        sys.cnode_slot(self.fd_cnode, fd).ok()
    }

    /// The capability behind `fd`, if any.
    pub fn cap(&self, sys: &CapSystem, fd: i64) -> Option<(Slot, Cap)> {
        let fd = u32::try_from(fd).ok()?;
        let slot = self.fd_slot(sys, fd)?;
        sys.cap_at(slot).map(|c| (slot, c))
    }

    /// The open file behind `fd`, if the capability carries `need`; EBADF otherwise
    /// (Linux's answer for a missing fd and for the wrong access mode alike).
    pub fn get(&self, sys: &CapSystem, fd: i64, need: Rights) -> Result<Arc<OpenFile>, Errno> {
        let r = self.get_untraced(sys, fd, need);
        if let Some(t) = self.tracer {
            let cap = self.cap(sys, fd).map(|(_, c)| c);
            trace(
                t,
                sys,
                fd as u64,
                CapOp::Use(need),
                cap,
                r.as_ref().map(|_| ()),
            );
        }
        r
    }

    fn get_untraced(&self, sys: &CapSystem, fd: i64, need: Rights) -> Result<Arc<OpenFile>, Errno> {
        let (_, cap) = self.cap(sys, fd).ok_or(Errno::EBADF)?;
        if !cap.rights.contains(need) {
            return Err(Errno::EBADF);
        }
        sys.object::<FileObject>(&cap)
            .map(|f| f.0.clone())
            .ok_or(Errno::EBADF)
    }

    /// Grows the fd CNode so that `fd` fits (never past `limit`).
    fn ensure_capacity(&mut self, sys: &mut CapSystem, fd: u32) -> Result<(), Errno> {
        let mut cap = self.capacity(sys);
        if fd < cap {
            return Ok(());
        }
        if fd >= self.limit {
            return Err(Errno::EMFILE);
        }
        // The fd CNode itself can be gone (deleted or revoked from the debug console):
        // then no descriptor can be made, and doubling a zero capacity would never end.
        if cap == 0 {
            return Err(Errno::EMFILE);
        }
        let mut radix = sys.cnode_radix(self.fd_cnode).unwrap_or(INITIAL_FD_RADIX);
        while cap <= fd {
            radix += 1;
            cap <<= 1;
        }
        let root = sys.cap_at(Slot::root(self.cspace)).ok_or(Errno::EBADF)?;
        let fd_slot = sys.slot_of(&root, ROOT_FD_SLOT).map_err(cap_err)?;
        let fd_cap = sys.cap_at(fd_slot).ok_or(Errno::EBADF)?;
        // The CNode's own Budget pays for the growth.
        sys.resize_cnode(&fd_cap, radix, 60 - radix, 0)
            .map_err(|e| match e {
                CapError::NotEnoughMemory { .. } => Errno::ENOMEM,
                _ => Errno::EMFILE,
            })?;
        Ok(())
    }

    /// The lowest free descriptor at or above `min` (what open and F_DUPFD return).
    fn lowest_free(&mut self, sys: &mut CapSystem, min: u32) -> Result<u32, Errno> {
        if min >= self.limit {
            return Err(Errno::EMFILE);
        }
        if let Some(fd) = sys.first_empty_slot(self.fd_cnode, min) {
            if fd < self.limit {
                return Ok(fd);
            }
            return Err(Errno::EMFILE);
        }
        let fd = self.capacity(sys).max(min);
        self.ensure_capacity(sys, fd)?;
        Ok(fd)
    }

    /// Installs a new open file at the lowest free descriptor.
    pub fn install(
        &mut self,
        sys: &mut CapSystem,
        file: Arc<OpenFile>,
        rights: Rights,
        cloexec: bool,
    ) -> Result<u32, Errno> {
        self.install_made_by(sys, file, rights, cloexec, None)
    }

    /// [`install`](Self::install), the new capability *made* by the one behind
    /// descriptor `maker` (a connection accepted on a listening socket hangs under the
    /// listener's capability, so revoking what made the listener reaches it too).
    pub fn install_made_by(
        &mut self,
        sys: &mut CapSystem,
        file: Arc<OpenFile>,
        rights: Rights,
        cloexec: bool,
        maker: Option<i64>,
    ) -> Result<u32, Errno> {
        let r = self.install_untraced(sys, file, rights, cloexec, maker);
        if let Some(t) = self.tracer {
            let fd = r.as_ref().map_or(u64::MAX, |&fd| u64::from(fd));
            let cap = r
                .as_ref()
                .ok()
                .and_then(|&fd| self.cap(sys, fd.into()).map(|(_, c)| c));
            trace(t, sys, fd, CapOp::Create, cap, r.as_ref().map(|_| ()));
        }
        r
    }

    fn install_untraced(
        &mut self,
        sys: &mut CapSystem,
        file: Arc<OpenFile>,
        rights: Rights,
        cloexec: bool,
        maker: Option<i64>,
    ) -> Result<u32, Errno> {
        let maker = match maker {
            Some(m) => Some(self.cap(sys, m).ok_or(Errno::EBADF)?.0),
            None => None,
        };
        let fd = self.lowest_free(sys, 0)?;
        let slot = self.fd_slot(sys, fd).ok_or(Errno::EMFILE)?;
        let budget = self.budget(sys)?;
        let object = FileObject(file);
        let size = caps::ObjectType::size(&object);
        let ticket = match maker {
            Some(m) => sys.prepare_create_by(m, budget, slot, size),
            None => sys.prepare_create(budget, slot, size),
        };
        ticket
            .and_then(|t| sys.commit_create(t, Arc::new(object), rights))
            .map_err(|e| match e {
                CapError::NotEnoughMemory { .. } => Errno::ENFILE,
                _ => Errno::EMFILE,
            })?;
        self.set_cloexec(fd, cloexec);
        Ok(fd)
    }

    /// Creates an object by invoking authority capability `via` (NetStack Create
    /// labels: words dest_index, dest_depth, `protocol`; extra caps the Budget and the
    /// fd CNode) into the lowest free descriptor, which it returns. The invocation is
    /// traced like any other, so the console shows the creation and its rights check.
    /// A decode failure comes back as the capability error (the caller knows which
    /// errno Linux gives for a missing right); a nonzero reply label as that errno.
    pub fn make(
        &mut self,
        sys: &mut CapSystem,
        via: u32,
        label: u64,
        protocol: u64,
        cloexec: bool,
    ) -> Result<u32, CapFail> {
        let fd = self.lowest_free(sys, 0).map_err(CapFail::Errno)?;
        let dest = self
            .authority_slot(sys, AUTH_FD_CNODE)
            .map_err(CapFail::Errno)?;
        let root = sys.cap_at(Slot::root(self.cspace));
        let fd_cnode = root.and_then(|r| sys.slot_of(&r, ROOT_FD_SLOT).ok());
        match fd_cnode {
            Some(src) if sys.cap_at(dest).is_none() => {
                sys.copy(src, dest, Rights::WRITE).map_err(CapFail::Cap)?;
            }
            _ => return Err(CapFail::Errno(Errno::EMFILE)),
        }
        let words = [u64::from(fd), 60, protocol];
        let extra = [authority_cptr(AUTH_BUDGET), authority_cptr(AUTH_FD_CNODE)];
        let r = self.invoke(sys, authority_cptr(via), label, &words, &extra);
        let _ = sys.delete(dest);
        let reply = r.map_err(CapFail::Cap)?;
        if reply.label != 0 {
            let e = Errno::from_code(reply.label as i32).unwrap_or(Errno::ENOBUFS);
            return Err(CapFail::Errno(e));
        }
        self.set_cloexec(fd, cloexec);
        Ok(fd)
    }

    pub fn close(&mut self, sys: &mut CapSystem, fd: i64) -> Result<(), Errno> {
        let found = self.cap(sys, fd);
        let r = match found {
            Some((slot, _)) => sys.delete(slot).map_err(cap_err),
            None => Err(Errno::EBADF),
        };
        if r.is_ok() {
            self.cloexec.remove(&(fd as u32));
        }
        if let Some(t) = self.tracer {
            trace(
                t,
                sys,
                fd as u64,
                CapOp::Delete,
                found.map(|(_, c)| c),
                r.as_ref().map(|_| ()),
            );
        }
        r
    }

    /// dup / F_DUPFD(_CLOEXEC): a Copy into the lowest free slot >= `min`.
    pub fn dup(
        &mut self,
        sys: &mut CapSystem,
        old: i64,
        min: u32,
        cloexec: bool,
    ) -> Result<u32, Errno> {
        let r = self.dup_untraced(sys, old, min, cloexec);
        self.trace_copy(sys, old, &r);
        r
    }

    fn dup_untraced(
        &mut self,
        sys: &mut CapSystem,
        old: i64,
        min: u32,
        cloexec: bool,
    ) -> Result<u32, Errno> {
        let (src, cap) = self.cap(sys, old).ok_or(Errno::EBADF)?;
        let new = self.lowest_free(sys, min)?;
        let dst = self.fd_slot(sys, new).ok_or(Errno::EMFILE)?;
        sys.copy(src, dst, cap.rights).map_err(cap_err)?;
        self.set_cloexec(new, cloexec);
        Ok(new)
    }

    /// dup2 / dup3: `new` is closed first if open; `old == new` is the caller's
    /// business (dup2 returns `new`, dup3 fails with EINVAL).
    pub fn dup_to(
        &mut self,
        sys: &mut CapSystem,
        old: i64,
        new: i64,
        cloexec: bool,
    ) -> Result<u32, Errno> {
        let r = self.dup_to_untraced(sys, old, new, cloexec);
        self.trace_copy(sys, old, &r);
        r
    }

    fn trace_copy(&self, sys: &CapSystem, old: i64, r: &Result<u32, Errno>) {
        if let Some(t) = self.tracer {
            let dst = r.as_ref().map_or(u64::MAX, |&fd| u64::from(fd));
            let cap = self.cap(sys, old).map(|(_, c)| c);
            trace(
                t,
                sys,
                old as u64,
                CapOp::Copy { dst },
                cap,
                r.as_ref().map(|_| ()),
            );
        }
    }

    /// Invoke the capability at `cptr` in this CSpace (`caps::CapSystem::invoke`),
    /// traced like the other operations.
    pub fn invoke(
        &self,
        sys: &mut CapSystem,
        cptr: u64,
        label: u64,
        words: &[u64],
        extra: &[u64],
    ) -> caps::Result<caps::Reply> {
        let r = sys.invoke(self.cspace, cptr, label, words, extra);
        if let Some(t) = self.tracer {
            let cap = sys.lookup_cap(self.cspace, cptr).ok().map(|(_, c)| c);
            let result = r.as_ref().map(|_| ()).map_err(|e| CapFail::Cap(*e));
            t(
                sys,
                &CapUse {
                    cptr,
                    op: CapOp::Invoke { label },
                    cap,
                    result,
                },
            );
        }
        r
    }

    fn dup_to_untraced(
        &mut self,
        sys: &mut CapSystem,
        old: i64,
        new: i64,
        cloexec: bool,
    ) -> Result<u32, Errno> {
        let (src, cap) = self.cap(sys, old).ok_or(Errno::EBADF)?;
        let new = u32::try_from(new).map_err(|_| Errno::EBADF)?;
        if new >= self.limit {
            return Err(Errno::EBADF);
        }
        self.ensure_capacity(sys, new)?;
        let dst = self.fd_slot(sys, new).ok_or(Errno::EBADF)?;
        if sys.cap_at(dst).is_some() {
            sys.delete(dst).map_err(cap_err)?;
        }
        sys.copy(src, dst, cap.rights).map_err(cap_err)?;
        self.set_cloexec(new, cloexec);
        Ok(new)
    }

    pub fn cloexec(&self, fd: u32) -> bool {
        self.cloexec.contains(&fd)
    }

    pub fn set_cloexec(&mut self, fd: u32, on: bool) {
        if on {
            self.cloexec.insert(fd);
        } else {
            self.cloexec.remove(&fd);
        }
    }

    /// The open descriptors, lowest first.
    pub fn fds(&self, sys: &CapSystem) -> Vec<u32> {
        sys.cnode_entries(self.fd_cnode)
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    }

    /// fork: a new CSpace whose every descriptor (and authority cap) is a Copy of
    /// ours, so the copies are CDT children and a revoke reaches them too.
    pub fn fork(&self, sys: &mut CapSystem) -> Result<FdTable, Errno> {
        let budget = self.budget(sys)?;
        let mut child = FdTable::new(sys, budget)?;
        child.limit = self.limit;
        child.rlimits = self.rlimits;
        child.tracer = self.tracer;
        let cap = self.capacity(sys);
        if cap > 0 {
            child
                .ensure_capacity(sys, cap - 1)
                .inspect_err(|_| child.destroy(sys))?;
        }
        let entries = sys.cnode_entries(self.fd_cnode);
        for (i, c) in entries {
            let src = sys.cnode_slot(self.fd_cnode, i).map_err(cap_err)?;
            let dst = sys.cnode_slot(child.fd_cnode, i).map_err(cap_err)?;
            if let Err(e) = sys.copy(src, dst, c.rights) {
                child.destroy(sys);
                return Err(cap_err(e));
            }
        }
        for (i, c) in sys.cnode_entries(self.authority) {
            // The child has its own Budget copy.
            if i == AUTH_BUDGET {
                continue;
            }
            let src = sys.cnode_slot(self.authority, i).map_err(cap_err)?;
            let dst = sys.cnode_slot(child.authority, i).map_err(cap_err)?;
            if let Err(e) = sys.copy(src, dst, c.rights) {
                child.destroy(sys);
                return Err(cap_err(e));
            }
        }
        child.cloexec = self.cloexec.clone();
        Ok(child)
    }

    /// execve: close every descriptor marked close-on-exec.
    pub fn close_on_exec(&mut self, sys: &mut CapSystem) {
        let marked: Vec<u32> = self.cloexec.iter().copied().collect();
        for fd in marked {
            let _ = self.close(sys, i64::from(fd));
        }
    }

    /// Process exit: delete the whole CSpace (closing every file).
    pub fn destroy(&mut self, sys: &mut CapSystem) {
        let _ = sys.destroy_cspace(self.cspace);
        self.cloexec.clear();
    }
}
