//! FdTable over a real CapSystem: descriptor numbers, sharing and capability
//! derivation behave as Linux and the capability model both require.

use alloc::sync::Arc;

use caps::{CapSystem, Rights, Slot};

use crate::abi::Errno;
use crate::fd::FdTable;
use crate::file::{flags, FileOps, FileStat, OpenFile};

struct Null;
impl FileOps for Null {
    fn write(&self, _o: u64, d: &[u8]) -> Result<usize, Errno> {
        Ok(d.len())
    }
    fn stat(&self) -> FileStat {
        FileStat::default()
    }
}

fn system(budget_bytes: u64) -> (CapSystem, Slot) {
    let mut sys = CapSystem::new();
    let cs = sys.create_cspace(None, 4, 0, 0).unwrap();
    let root = sys.cap_at(Slot::root(cs)).unwrap();
    let slot = sys.slot_of(&root, 0).unwrap();
    sys.create_budget(None, slot, budget_bytes).unwrap();
    (sys, slot)
}

fn open(sys: &mut CapSystem, t: &mut FdTable, status: u32) -> Result<u32, Errno> {
    let f = OpenFile::new(Arc::new(Null), status);
    t.install(sys, f, OpenFile::rights_for(status), false)
}

#[test]
fn lowest_free_and_reuse() {
    let (mut sys, b) = system(1 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Ok(0));
    assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Ok(1));
    assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Ok(2));
    t.close(&mut sys, 1).unwrap();
    assert_eq!(t.close(&mut sys, 1), Err(Errno::EBADF));
    assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Ok(1));
    assert!(sys.check().is_empty());
}

#[test]
fn dup_is_a_cdt_child_sharing_the_description() {
    let (mut sys, b) = system(1 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    open(&mut sys, &mut t, flags::O_RDWR).unwrap();
    let d = t.dup(&mut sys, 0, 0, false).unwrap();
    assert_eq!(d, 1);
    let (s0, c0) = t.cap(&sys, 0).unwrap();
    let (s1, c1) = t.cap(&sys, 1).unwrap();
    assert_eq!(c0.oid, c1.oid, "same object: one open file description");
    assert_eq!(sys.cdt_parent(s1), Some(s0));
    let f0 = t.get(&sys, 0, Rights::READ).unwrap();
    let f1 = t.get(&sys, 1, Rights::READ).unwrap();
    *f0.offset.lock() = 42;
    assert_eq!(*f1.offset.lock(), 42);
}

#[test]
fn access_mode_is_rights() {
    let (mut sys, b) = system(1 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    open(&mut sys, &mut t, flags::O_RDONLY).unwrap();
    open(&mut sys, &mut t, flags::O_WRONLY).unwrap();
    assert!(t.get(&sys, 0, Rights::READ).is_ok());
    assert_eq!(t.get(&sys, 0, Rights::WRITE).err(), Some(Errno::EBADF));
    assert_eq!(t.get(&sys, 1, Rights::READ).err(), Some(Errno::EBADF));
    assert_eq!(t.get(&sys, -1, Rights::empty()).err(), Some(Errno::EBADF));
    assert_eq!(
        t.get(&sys, 1 << 40, Rights::empty()).err(),
        Some(Errno::EBADF)
    );
}

#[test]
fn fd_cnode_grows_to_the_limit_then_emfile() {
    let (mut sys, b) = system(8 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    t.limit = 300;
    for want in 0..300u32 {
        assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Ok(want));
    }
    assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Err(Errno::EMFILE));
    assert_eq!(t.dup(&mut sys, 0, 0, false), Err(Errno::EMFILE));
    assert_eq!(t.dup_to(&mut sys, 0, 300, false), Err(Errno::EBADF));
    assert!(sys.check().is_empty());
}

#[test]
fn a_small_budget_runs_out_cleanly() {
    let (mut sys, b) = system(4096);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    let mut n = 0;
    loop {
        match open(&mut sys, &mut t, flags::O_RDWR) {
            Ok(_) => n += 1,
            Err(e) => {
                assert_eq!(e, Errno::ENFILE);
                break;
            }
        }
        assert!(n < 1000, "budget never ran out");
    }
    assert!(n > 0);
    assert!(sys.check().is_empty());
}

#[test]
fn fork_copies_every_fd_as_children_and_exec_drops_cloexec() {
    let (mut sys, b) = system(1 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    open(&mut sys, &mut t, flags::O_RDWR).unwrap();
    t.dup_to(&mut sys, 0, 5, true).unwrap();
    let mut child = t.fork(&mut sys).unwrap();
    assert_eq!(child.fds(&sys), [0, 5]);
    let (p0, _) = t.cap(&sys, 0).unwrap();
    let (c0, _) = child.cap(&sys, 0).unwrap();
    assert_eq!(sys.cdt_parent(c0), Some(p0));
    assert!(child.cloexec(5));
    child.close_on_exec(&mut sys);
    assert_eq!(child.fds(&sys), [0]);
    // Revoking the parent's fd 0 removes everything derived from it: the child's
    // copy, and the parent's own dup at 5 too; fd 0 itself stays.
    sys.revoke(p0).unwrap();
    assert_eq!(child.fds(&sys), Vec::<u32>::new());
    assert_eq!(t.fds(&sys), [0]);
    child.destroy(&mut sys);
    t.destroy(&mut sys);
    assert!(sys.check().is_empty());
}

/// What the tracer saw, as text (one test uses it; the tracer is a plain `fn`).
static TRACED: std::sync::Mutex<alloc::vec::Vec<alloc::string::String>> =
    std::sync::Mutex::new(alloc::vec::Vec::new());

fn record(sys: &CapSystem, u: &crate::fd::CapUse) {
    let ty = u.cap.and_then(|c| sys.type_name(&c)).unwrap_or("-");
    TRACED.lock().unwrap().push(alloc::format!(
        "{:#x} {ty} {:?} {:?}",
        u.cptr,
        u.op,
        u.result
    ));
}

#[test]
fn a_tracer_sees_every_capability_operation_and_its_result() {
    use crate::fd::{CapFail, CapOp};
    let (mut sys, b) = system(1 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    // Untraced: nothing reported.
    open(&mut sys, &mut t, flags::O_RDONLY).unwrap();
    assert!(TRACED.lock().unwrap().is_empty());
    t.tracer = Some(record);
    open(&mut sys, &mut t, flags::O_RDWR).unwrap();
    t.get(&sys, 1, Rights::WRITE).unwrap();
    assert_eq!(t.get(&sys, 0, Rights::WRITE).err(), Some(Errno::EBADF));
    t.dup_to(&mut sys, 1, 5, false).unwrap();
    assert_eq!(t.dup(&mut sys, 9, 0, false), Err(Errno::EBADF));
    t.close(&mut sys, 5).unwrap();
    // Forked children inherit the tracer (strace -f).
    let mut child = t.fork(&mut sys).unwrap();
    assert!(child.tracer.is_some());
    child.destroy(&mut sys);
    let _ = t.invoke(&mut sys, 1, 99, &[], &[]);
    let w = Rights::WRITE;
    let want = [
        alloc::format!("0x1 file {:?} Ok(())", CapOp::Create),
        alloc::format!("0x1 file {:?} Ok(())", CapOp::Use(w)),
        alloc::format!(
            "0x0 file {:?} Err({:?})",
            CapOp::Use(w),
            CapFail::Errno(Errno::EBADF)
        ),
        alloc::format!("0x1 file {:?} Ok(())", CapOp::Copy { dst: 5 }),
        alloc::format!(
            "0x9 - {:?} Err({:?})",
            CapOp::Copy { dst: u64::MAX },
            CapFail::Errno(Errno::EBADF)
        ),
        alloc::format!("0x5 file {:?} Ok(())", CapOp::Delete),
        alloc::format!(
            "0x1 file {:?} Err({:?})",
            CapOp::Invoke { label: 99 },
            CapFail::Cap(caps::Error::IllegalOperation)
        ),
    ];
    assert_eq!(*TRACED.lock().unwrap(), want);
    assert!(sys.check().is_empty());
}

#[test]
fn a_process_whose_fd_cnode_was_deleted_gets_errors_not_a_hang() {
    let (mut sys, b) = system(1 << 20);
    let mut t = FdTable::new(&mut sys, b).unwrap();
    open(&mut sys, &mut t, flags::O_RDWR).unwrap();
    // What `delete PID root:0` on the debug console does.
    let root = sys.cap_at(Slot::root(t.cspace)).unwrap();
    let fd_cnode = sys.slot_of(&root, 0).unwrap();
    sys.delete(fd_cnode).unwrap();
    assert_eq!(open(&mut sys, &mut t, flags::O_RDWR), Err(Errno::EMFILE));
    assert_eq!(t.dup(&mut sys, 0, 0, false), Err(Errno::EBADF));
    assert_eq!(t.dup_to(&mut sys, 0, 3, false), Err(Errno::EBADF));
    assert_eq!(t.close(&mut sys, 0), Err(Errno::EBADF));
    assert!(t.get(&sys, 0, Rights::READ).is_err());
    if let Ok(mut child) = t.fork(&mut sys) {
        child.destroy(&mut sys);
    }
    t.destroy(&mut sys);
    assert!(sys.check().is_empty());
}
