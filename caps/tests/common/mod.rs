//! Shared test fixtures: a probe object type that counts its finalizations and a
//! small system with a few CSpaces.
#![allow(dead_code)] // each test binary uses a different part of the fixtures

use std::sync::{Arc, Mutex};

use caps::{CSpaceId, CapSystem, Error, Invocation, ObjectType, Reply, Rights, Slot};

/// Finalization counts per probe tag, shared with the test.
pub type Finals = Arc<Mutex<std::collections::BTreeMap<u64, u32>>>;

/// A probe object: `NOP` does nothing, `ECHO` replies with its two words after
/// checking them, `SET` needs WRITE; finalize bumps its tag's count.
pub struct Probe {
    pub tag: u64,
    pub finals: Finals,
}

pub const PROBE_SIZE: u64 = 100;
pub const NOP: u64 = 1;
pub const ECHO: u64 = 2;
pub const SET: u64 = 3;
pub const PROBE_FROB: Rights = Rights::type_right(0);

pub enum ProbeOp {
    Nop,
    Echo(u64, u64),
    Set,
}

impl ObjectType for Probe {
    const NAME: &'static str = "probe";
    const RIGHT_NAMES: &'static [(&'static str, Rights)] = &[("FROB", PROBE_FROB)];
    type Op = ProbeOp;

    fn size(&self) -> u64 {
        PROBE_SIZE
    }

    fn decode(&self, _sys: &CapSystem, inv: &Invocation<'_>) -> Result<ProbeOp, Error> {
        match inv.label {
            NOP => Ok(ProbeOp::Nop),
            ECHO => {
                let a = inv.word(0)?;
                let b = inv.word(1)?;
                if a > 1000 {
                    return Err(Error::RangeError { min: 0, max: 1000 });
                }
                Ok(ProbeOp::Echo(a, b))
            }
            SET => {
                inv.require(Rights::WRITE | PROBE_FROB)?;
                Ok(ProbeOp::Set)
            }
            _ => Err(Error::IllegalOperation),
        }
    }

    fn perform(&self, _sys: &mut CapSystem, _inv: &Invocation<'_>, op: ProbeOp) -> Reply {
        match op {
            ProbeOp::Nop | ProbeOp::Set => Reply::empty(),
            ProbeOp::Echo(a, b) => Reply::with_words(&[a, b]),
        }
    }

    fn finalize(&self) {
        *self.finals.lock().unwrap().entry(self.tag).or_insert(0) += 1;
    }

    fn capdl_attrs(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        write!(out, "tag: {}", self.tag)
    }
}

/// A CSpace shaped like a Linux process's: root radix 4 (guard 0), slot 0 an fd
/// CNode of radix `fd_radix` with guard size 60 - fd_radix (fd N = CPtr N), slot 1 an
/// authority CNode of radix 4 (guard size 56: CPtr `1 << 60 | k`), a Budget of
/// `budget` bytes in authority slot 0.
pub struct Process {
    pub cs: CSpaceId,
    pub fds: caps::Oid,
    pub auth: caps::Oid,
    pub budget: Slot,
}

pub fn authority_cptr(k: u64) -> u64 {
    (1 << 60) | k
}

pub fn process(sys: &mut CapSystem, fd_radix: u8, budget: u64) -> Process {
    let cs = sys.create_cspace(None, 4, 0, 0).unwrap();
    let root = sys.cap_at(Slot::root(cs)).unwrap();
    let root_oid = root.oid;
    // The process's Budget first lives in a scratch slot of the root so it can pay
    // for the fd and authority CNodes, then moves into the authority CNode.
    let scratch = sys.cnode_slot(root_oid, 15).unwrap();
    sys.create_budget(None, scratch, budget).unwrap();
    let fd_slot = sys.cnode_slot(root_oid, 0).unwrap();
    let fds = sys
        .create_cnode(scratch, fd_slot, fd_radix, 60 - fd_radix, 0)
        .unwrap()
        .oid;
    let auth_slot = sys.cnode_slot(root_oid, 1).unwrap();
    let auth = sys.create_cnode(scratch, auth_slot, 4, 56, 0).unwrap().oid;
    let budget_slot = sys.cnode_slot(auth, 0).unwrap();
    sys.move_cap(scratch, budget_slot).unwrap();
    Process {
        cs,
        fds,
        auth,
        budget: budget_slot,
    }
}

pub fn finals() -> Finals {
    Arc::new(Mutex::new(Default::default()))
}

pub fn probe(tag: u64, finals: &Finals) -> Probe {
    Probe {
        tag,
        finals: finals.clone(),
    }
}

pub fn assert_clean(sys: &CapSystem) {
    let v = sys.check();
    assert!(v.is_empty(), "invariant violations: {v:?}");
}
