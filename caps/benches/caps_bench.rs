//! Benchmarks of the capability core (`cargo bench -p caps`): CPtr lookup, a no-op
//! invocation through decode/perform, copy+delete, and revoke of 10 000 descendants,
//! in ns per operation. The CSpace has the Linux personality's shape: root CNode
//! (radix 4) -> fd CNode (radix 10, guard 50), so an fd lookup crosses two levels.

use std::hint::black_box;
use std::time::Instant;

use caps::{CapSystem, Error, Invocation, ObjectType, Reply, Rights, Slot};

struct Nop;

impl ObjectType for Nop {
    const NAME: &'static str = "nop";
    type Op = ();
    fn size(&self) -> u64 {
        16
    }
    fn decode(&self, _sys: &CapSystem, inv: &Invocation<'_>) -> Result<(), Error> {
        match inv.label {
            0 => Ok(()),
            _ => Err(Error::IllegalOperation),
        }
    }
    fn perform(&self, _sys: &mut CapSystem, _inv: &Invocation<'_>, _op: ()) -> Reply {
        Reply::empty()
    }
}

fn setup() -> (CapSystem, caps::CSpaceId, caps::Oid, Slot) {
    let mut sys = CapSystem::new();
    let cs = sys.create_cspace(None, 4, 0, 0).unwrap();
    let root = sys.cap_at(Slot::root(cs)).unwrap();
    let budget = sys.slot_of(&root, 1).unwrap();
    sys.create_budget(None, budget, 1 << 32).unwrap();
    let fd_slot = sys.slot_of(&root, 0).unwrap();
    let fds = sys.create_cnode(budget, fd_slot, 14, 46, 0).unwrap().oid;
    let fd3 = sys.cnode_slot(fds, 3).unwrap();
    sys.create_object(budget, fd3, Nop, Rights::ALL).unwrap();
    (sys, cs, fds, budget)
}

fn report(name: &str, total_ns: f64, ops: u64) {
    println!(
        "{name:<40} {:>10.1} ns/op  ({ops} ops)",
        total_ns / ops as f64
    );
}

fn best_of<F: FnMut() -> f64>(runs: usize, mut f: F) -> f64 {
    (0..runs).map(|_| f()).fold(f64::MAX, f64::min)
}

fn main() {
    let (mut sys, cs, fds, budget) = setup();
    const N: u64 = 5_000_000;

    let t = best_of(5, || {
        let start = Instant::now();
        for _ in 0..N {
            black_box(sys.lookup_cap(black_box(cs), black_box(3)).unwrap());
        }
        start.elapsed().as_nanos() as f64
    });
    report("cptr lookup (2 levels)", t, N);

    let t = best_of(5, || {
        let start = Instant::now();
        for _ in 0..N {
            black_box(
                sys.invoke(black_box(cs), black_box(3), 0, &[], &[])
                    .unwrap(),
            );
        }
        start.elapsed().as_nanos() as f64
    });
    report("lookup + no-op invoke (decode/perform)", t, N);

    let t = best_of(5, || {
        let start = Instant::now();
        for _ in 0..N {
            black_box(
                sys.invoke(black_box(cs), black_box(3), 7, &[], &[])
                    .unwrap_err(),
            );
        }
        start.elapsed().as_nanos() as f64
    });
    report("lookup + invoke failing in decode", t, N);

    const M: u64 = 1_000_000;
    let src = sys.cnode_slot(fds, 3).unwrap();
    let dst = sys.cnode_slot(fds, 4).unwrap();
    let t = best_of(5, || {
        let start = Instant::now();
        for _ in 0..M {
            sys.copy(src, dst, Rights::READ).unwrap();
            sys.delete(dst).unwrap();
        }
        start.elapsed().as_nanos() as f64
    });
    report("copy + delete (pair)", t, M);

    // The Budget sits in root slot 1: CPtr 1 << 60 stops there with 60 bits left.
    let t = best_of(5, || {
        let start = Instant::now();
        for _ in 0..M {
            sys.invoke(cs, 1 << 60, 0, &[], &[]).unwrap_err();
        }
        start.elapsed().as_nanos() as f64
    });
    report("invoke of a budget, illegal label", t, M);

    // Revoke of 10 000 descendants: half a chain, half fan-out.
    const K: u32 = 10_000;
    let mut times = Vec::new();
    for _ in 0..20 {
        let src = sys.cnode_slot(fds, 3).unwrap();
        for i in 0..K {
            let from = if i % 2 == 0 || i < 2 { 3 } else { 10 + i - 1 };
            let s = sys.cnode_slot(fds, from).unwrap();
            let d = sys.cnode_slot(fds, 10 + i).unwrap();
            sys.copy(s, d, Rights::READ).unwrap();
        }
        let start = Instant::now();
        sys.revoke(src).unwrap();
        times.push(start.elapsed().as_nanos() as f64);
    }
    let best = times.iter().copied().fold(f64::MAX, f64::min);
    report("revoke of 10 000 descendants (per cap)", best, K as u64);
    println!(
        "{:<40} {:>10.1} us",
        "revoke of 10 000 descendants (total)",
        best / 1000.0
    );

    // Creating and deleting an object (budget charge + finalize).
    let t = best_of(5, || {
        let start = Instant::now();
        for _ in 0..M {
            sys.create_object(budget, dst, Nop, Rights::ALL).unwrap();
            sys.delete(dst).unwrap();
        }
        start.elapsed().as_nanos() as f64
    });
    report("create object + final delete (pair)", t, M);
    assert!(sys.check().is_empty());
}
