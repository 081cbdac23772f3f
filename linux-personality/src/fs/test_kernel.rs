//! A fake kernel for host tests of the file-system calls: fake user memory, a real
//! capability system with a Budget and an fd table, a tmpfs and one process's
//! [`FsContext`]. Tests drive [`crate::syscall::dispatch`] with raw syscall numbers and
//! user pointers, as a C program would.

use std::string::String;
use std::vec;
use std::vec::Vec;

use caps::{CapSystem, Slot};

use crate::abi::nr;
use crate::abi::structs::Stat;
use crate::abi::Errno::{self, *};
use crate::fd::FdTable;
use crate::file::flags::*;
use crate::fs::{Creds, FsContext, Tmpfs};
use crate::signal::{SigInfo, Signals};
use crate::syscall::{dispatch, Kernel, Prot};
use crate::uaccess::{read_struct, FakeUserMemory, Prot as MemProt, UserMemory};

pub const BASE: u64 = 0x10_0000;
pub const SIZE: u64 = 0x10_0000;
pub const CWD: u64 = -100i64 as u64;

pub struct FakeKernel {
    pub mem: FakeUserMemory,
    sys: CapSystem,
    fds: FdTable,
    pub fs: FsContext,
    pub tmpfs: Tmpfs,
    pub creds: Creds,
    signals: Signals,
    next: u64,
    /// The process whose descriptors and context are in `fds` and `fs`.
    pub pid: u32,
    /// The other processes' descriptor tables and contexts (trace replays).
    procs: std::collections::BTreeMap<u32, (FdTable, FsContext)>,
    /// What a procfs mounted here shows.
    pub proc: std::sync::Arc<crate::fs::proc::fake::FakeProc>,
    /// The loopback-only network stack of [`FakeKernel::with_net`], and its clock (ms).
    pub net: Option<netobj::NetStack>,
    pub net_ms: u64,
}

impl FakeKernel {
    pub fn new() -> FakeKernel {
        let mut sys = CapSystem::new();
        let cs = sys.create_cspace(None, 2, 0, 0).unwrap();
        let root = sys.cap_at(Slot::root(cs)).unwrap();
        let budget = sys.slot_of(&root, 0).unwrap();
        sys.create_budget(None, budget, 1 << 24).unwrap();
        let fds = FdTable::new(&mut sys, budget).unwrap();
        let mut mem = FakeUserMemory::new();
        mem.map(BASE, SIZE, MemProt::READ_WRITE).unwrap();
        let tmpfs = Tmpfs::new(4 << 20);
        let fs = FsContext::new(&tmpfs);
        FakeKernel {
            mem,
            sys,
            fds,
            fs,
            tmpfs,
            creds: Creds::root(),
            signals: Signals::default(),
            next: BASE,
            pid: 1,
            procs: std::collections::BTreeMap::new(),
            proc: std::sync::Arc::new(crate::fs::proc::fake::FakeProc::with_init()),
            net: None,
            net_ms: 0,
        }
    }

    /// A fake kernel whose process holds a NetStack capability with every right over a
    /// loopback-only stack (as init does on Writ). Blocking waits run the stack (the
    /// loopback peer is in the same test) before giving up with EINTR.
    pub fn with_net() -> FakeKernel {
        let mut k = FakeKernel::new();
        let stack = netobj::NetStack::new(
            std::boxed::Box::new(crate::net::NullDevice),
            netobj::StackConfig::default(),
            netobj::Instant::from_millis(0),
        );
        let fds = &k.fds;
        let slot = fds
            .authority_slot(&k.sys, crate::fd::AUTH_NETSTACK)
            .unwrap();
        let budget = fds.authority_slot(&k.sys, crate::fd::AUTH_BUDGET).unwrap();
        k.sys
            .create_object(
                budget,
                slot,
                netobj::capobj::NetStackObject::with_wrapper(
                    stack.clone(),
                    crate::net::socket_object,
                ),
                caps::Rights::ALL,
            )
            .unwrap();
        k.net = Some(stack);
        k
    }

    /// The capability system and the fd table (tests that derive or revoke caps).
    pub fn caps_mut(&mut self) -> (&mut CapSystem, &mut FdTable) {
        (&mut self.sys, &mut self.fds)
    }

    /// Runs the stack once, as the kernel's net thread would.
    pub fn net_kick_for_test(&mut self) {
        self.run_net();
    }

    /// Runs the stack until it has nothing due now (advancing the fake clock 1 ms).
    fn run_net(&mut self) {
        if let Some(stack) = &self.net {
            self.net_ms += 1;
            let now = netobj::Instant::from_millis(self.net_ms as i64);
            for _ in 0..16 {
                stack.poll(now);
                if stack.poll_at(now).is_none_or(|t| t > now) {
                    break;
                }
            }
        }
    }

    /// Waits the way a second thread would make progress: by running the stack.
    fn net_wait(
        &mut self,
        deadline_ns: Option<u64>,
        ready: &mut dyn FnMut() -> bool,
    ) -> Option<bool> {
        self.net.as_ref()?;
        for _ in 0..2000 {
            if ready() {
                return Some(true);
            }
            if deadline_ns.is_some_and(|d| self.net_ms * 1_000_000 >= d) {
                return Some(false);
            }
            self.run_net();
        }
        None
    }

    /// Copies the caller's descriptors into the fake procfs facts (for /proc/PID/fd).
    pub fn sync_proc_files(&mut self) {
        let mut files = Vec::new();
        for fd in self.fds.fds(&self.sys) {
            if let Ok(f) = self
                .fds
                .get(&self.sys, i64::from(fd), caps::Rights::empty())
            {
                files.push((fd, f, self.fds.cloexec(fd)));
            }
        }
        self.proc.0.lock().files.insert(self.pid, files);
    }

    /// Forgets the scratch memory handed out after `keep` (earlier buffers stay).
    pub fn reset_alloc_keep(&mut self, keep: u64) {
        self.next = keep.max(BASE);
    }

    /// Forgets the scratch memory handed out so far (between replayed calls).
    pub fn reset_alloc(&mut self) {
        self.next = BASE;
    }

    /// Makes `pid` the calling process; false if there is no such process.
    pub fn switch_to(&mut self, pid: u32) -> bool {
        if pid == self.pid {
            return true;
        }
        let Some((fds, fs)) = self.procs.remove(&pid) else {
            return false;
        };
        let old_fds = std::mem::replace(&mut self.fds, fds);
        let old_fs = std::mem::replace(&mut self.fs, fs);
        self.procs.insert(self.pid, (old_fds, old_fs));
        self.pid = pid;
        true
    }

    /// fork: process `child` gets copies of the caller's descriptors and context.
    pub fn fork_proc(&mut self, child: u32) -> Result<(), Errno> {
        let fds = self.fds.fork(&mut self.sys)?;
        self.procs.insert(child, (fds, self.fs.clone()));
        Ok(())
    }

    /// execve succeeded: close-on-exec descriptors go.
    pub fn exec_proc(&mut self) {
        self.fds.close_on_exec(&mut self.sys);
    }

    /// The process ended: its descriptors close.
    pub fn exit_proc(&mut self, pid: u32) {
        if pid == self.pid {
            self.fds.destroy(&mut self.sys);
        } else if let Some((mut fds, _)) = self.procs.remove(&pid) {
            fds.destroy(&mut self.sys);
        }
    }

    /// Descriptors 0, 1, 2 on a /dev/null node (what a program run with its standard
    /// streams redirected sees).
    pub fn std_streams_on_null(&mut self) {
        use crate::fs::devices;
        self.tmpfs.superblock().set_devices(std::sync::Arc::new(
            devices::DeviceTable::with_memory_devices(),
        ));
        devices::add_standard_nodes(&self.tmpfs).unwrap();
        for _ in 0..3 {
            self.open("/dev/null", O_RDWR, 0).unwrap();
        }
    }

    /// Sets the process's umask directly.
    pub fn umask_to(&mut self, mask: u32) {
        self.fs.umask = mask;
    }

    /// Scratch user memory (never reused within a test).
    pub fn alloc(&mut self, len: u64) -> u64 {
        let at = self.next;
        self.next = (self.next + len + 15) & !15;
        assert!(self.next < BASE + SIZE, "test scratch memory exhausted");
        at
    }

    pub fn cstr(&mut self, s: &str) -> u64 {
        let at = self.alloc(s.len() as u64 + 1);
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.mem.poke(at, &b).unwrap();
        at
    }

    pub fn sys(&mut self, n: usize, args: &[u64]) -> Result<u64, Errno> {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        dispatch(self, n as u64, a)
    }

    pub fn open(&mut self, path: &str, flags: u32, mode: u32) -> Result<u64, Errno> {
        let p = self.cstr(path);
        self.sys(nr::OPEN, &[p, u64::from(flags), u64::from(mode)])
    }

    pub fn write(&mut self, fd: u64, data: &[u8]) -> Result<u64, Errno> {
        let at = self.alloc(data.len() as u64);
        self.mem.poke(at, data).unwrap();
        self.sys(nr::WRITE, &[fd, at, data.len() as u64])
    }

    pub fn read(&mut self, fd: u64, len: u64) -> Result<Vec<u8>, Errno> {
        let at = self.alloc(len);
        let n = self.sys(nr::READ, &[fd, at, len])?;
        Ok(self.mem.peek(at, n as usize).unwrap())
    }

    pub fn path_call(&mut self, n: usize, path: &str, rest: &[u64]) -> Result<u64, Errno> {
        let p = self.cstr(path);
        let mut args = vec![p];
        args.extend_from_slice(rest);
        self.sys(n, &args)
    }

    pub fn path2(&mut self, n: usize, a: &str, b: &str) -> Result<u64, Errno> {
        let (pa, pb) = (self.cstr(a), self.cstr(b));
        self.sys(n, &[pa, pb])
    }

    pub fn stat(&mut self, path: &str) -> Result<Stat, Errno> {
        let buf = self.alloc(144);
        self.path_call(nr::STAT, path, &[buf])?;
        Ok(read_struct(&self.mem, buf).unwrap())
    }

    pub fn lstat(&mut self, path: &str) -> Result<Stat, Errno> {
        let buf = self.alloc(144);
        self.path_call(nr::LSTAT, path, &[buf])?;
        Ok(read_struct(&self.mem, buf).unwrap())
    }

    pub fn fstat(&mut self, fd: u64) -> Result<Stat, Errno> {
        let buf = self.alloc(144);
        self.sys(nr::FSTAT, &[fd, buf])?;
        Ok(read_struct(&self.mem, buf).unwrap())
    }

    pub fn mkdir(&mut self, path: &str, mode: u32) -> Result<u64, Errno> {
        self.path_call(nr::MKDIR, path, &[u64::from(mode)])
    }

    pub fn create(&mut self, path: &str, data: &[u8]) {
        let fd = self
            .open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
            .unwrap();
        self.write(fd, data).unwrap();
        self.sys(nr::CLOSE, &[fd]).unwrap();
    }

    pub fn getcwd(&mut self) -> Result<String, Errno> {
        let buf = self.alloc(256);
        let n = self.sys(nr::GETCWD, &[buf, 256])?;
        let b = self.mem.peek(buf, n as usize - 1).unwrap();
        Ok(String::from_utf8(b).unwrap())
    }

    pub fn readlink(&mut self, path: &str, size: u64) -> Result<Vec<u8>, Errno> {
        let buf = self.alloc(size.max(1));
        let n = self.path_call(nr::READLINK, path, &[buf, size])?;
        Ok(self.mem.peek(buf, n as usize).unwrap())
    }

    /// getdents64 into a buffer of `size`: the (name, d_type) records.
    pub fn getdents(&mut self, fd: u64, size: u64) -> Result<Vec<(String, u8)>, Errno> {
        let buf = self.alloc(size);
        let n = self.sys(nr::GETDENTS64, &[fd, buf, size])? as usize;
        let bytes = self.mem.peek(buf, n).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < n {
            let reclen = u16::from_le_bytes([bytes[at + 16], bytes[at + 17]]) as usize;
            let d_type = bytes[at + 18];
            let name = &bytes[at + 19..at + reclen];
            let end = name.iter().position(|&b| b == 0).unwrap();
            out.push((String::from_utf8(name[..end].to_vec()).unwrap(), d_type));
            at += reclen;
        }
        Ok(out)
    }

    /// The names in directory `path`, sorted (`.` and `..` included, as getdents).
    pub fn ls(&mut self, path: &str) -> Vec<String> {
        let fd = self
            .open(
                path,
                crate::file::flags::O_RDONLY | crate::file::flags::O_DIRECTORY,
                0,
            )
            .unwrap();
        let mut names: Vec<String> = self
            .getdents(fd, 4096)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        self.sys(nr::CLOSE, &[fd]).unwrap();
        names.sort();
        names
    }
}

impl Kernel for FakeKernel {
    fn mem(&mut self) -> &mut dyn UserMemory {
        &mut self.mem
    }
    fn with_caps<R>(&mut self, f: impl FnOnce(&mut CapSystem, &mut FdTable) -> R) -> R {
        f(&mut self.sys, &mut self.fds)
    }
    fn pgrp(&mut self, _op: crate::syscall::PgrpOp) -> Result<u32, Errno> {
        Err(ENOSYS)
    }
    fn wait_any(
        &mut self,
        _keys: &[u64],
        _deadline_ns: Option<u64>,
        ready: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Errno> {
        if let Some(r) = self.net_wait(_deadline_ns, ready) {
            return Ok(r);
        }
        // Nothing else runs: what is not ready now never will be.
        if ready() {
            Ok(true)
        } else {
            Err(EINTR)
        }
    }
    fn wait(&mut self, _key: u64, ready: &mut dyn FnMut() -> bool) -> Result<(), Errno> {
        match self.net_wait(None, ready) {
            Some(true) => Ok(()),
            _ => Err(EINTR),
        }
    }
    fn net_kick(&mut self) {
        self.run_net();
    }
    fn now_ns(&self) -> u64 {
        if self.net.is_some() {
            return self.net_ms * 1_000_000;
        }
        let (s, ns) = self.clock_now(false);
        (s as u64) * 1_000_000_000 + ns as u64
    }
    fn pid(&self) -> u32 {
        1
    }
    fn tid(&self) -> u32 {
        1
    }
    fn exit_group(&mut self, code: u8) -> ! {
        panic!("exit_group({code})")
    }
    fn exit_thread(&mut self, code: u8) -> ! {
        panic!("exit({code})")
    }
    fn brk(&mut self, addr: u64) -> u64 {
        addr
    }
    fn mmap_anon(&mut self, _a: u64, _l: u64, _p: Prot, _f: bool, _i: &[u8]) -> Result<u64, Errno> {
        Err(ENOMEM)
    }
    fn munmap(&mut self, _a: u64, _l: u64) -> Result<(), Errno> {
        Err(EINVAL)
    }
    fn mprotect(&mut self, _a: u64, _l: u64, _p: Prot) -> Result<(), Errno> {
        Err(EINVAL)
    }
    fn set_fs_base(&mut self, _base: u64) {}
    fn fs_base(&self) -> u64 {
        0
    }
    fn set_clear_child_tid(&mut self, _addr: u64) {}
    fn ppid(&self) -> u32 {
        0
    }
    fn fork_process(&mut self, _args: crate::syscall::ForkArgs) -> Result<u32, Errno> {
        Err(ENOSYS)
    }
    fn spawn_thread(&mut self, _args: crate::syscall::ForkArgs) -> Result<u32, Errno> {
        Err(ENOSYS)
    }
    fn futex_wait(&mut self, _uaddr: u64, _val: u32, _timeout: Option<u64>) -> Result<(), Errno> {
        Err(ENOSYS)
    }
    fn futex_wake(&mut self, _uaddr: u64, _n: u32) -> Result<u32, Errno> {
        Err(ENOSYS)
    }
    fn execve(&mut self, _p: &[u8], _a: Vec<Vec<u8>>, _e: Vec<Vec<u8>>) -> Result<(), Errno> {
        Err(ENOSYS)
    }
    fn mremap(
        &mut self,
        _o: u64,
        _ol: u64,
        _nl: u64,
        _m: bool,
        _f: Option<u64>,
    ) -> Result<u64, Errno> {
        Err(Errno::ENOSYS)
    }
    fn wait_child(
        &mut self,
        _pid: i32,
        _how: crate::syscall::WaitFor,
    ) -> Result<Option<(u32, u32)>, Errno> {
        Err(ECHILD)
    }
    fn signals<R>(&mut self, f: impl FnOnce(&mut Signals) -> R) -> R {
        f(&mut self.signals)
    }
    fn send_signal(&mut self, _pid: i32, _info: SigInfo) -> Result<(), Errno> {
        Err(ESRCH)
    }
    fn send_thread_signal(
        &mut self,
        tgid: Option<u32>,
        tid: u32,
        info: SigInfo,
    ) -> Result<(), Errno> {
        // One thread, whose tid is the pid.
        if tid != self.pid || tgid.is_some_and(|g| g != self.pid) {
            return Err(ESRCH);
        }
        if info.signo != 0 {
            self.signals.post_thread(info);
        }
        Ok(())
    }
    fn sigreturn(&mut self) -> Result<u64, Errno> {
        Err(ENOSYS)
    }
    fn ids(&mut self) -> crate::syscall::Ids {
        let c = &self.creds;
        crate::syscall::Ids {
            ruid: c.uid,
            euid: c.euid,
            suid: c.euid,
            rgid: c.gid,
            egid: c.egid,
            sgid: c.egid,
            groups: c.groups.clone(),
        }
    }
    fn set_ids(&mut self, ids: crate::syscall::Ids) {
        self.creds = ids.creds();
    }
    fn creds(&self) -> Creds {
        self.creds.clone()
    }
    fn fs(&mut self) -> &mut FsContext {
        &mut self.fs
    }
    fn clock_now(&self, _realtime: bool) -> (i64, i64) {
        (0, 0)
    }
    fn sleep_ns(&mut self, _ns: u64) -> Result<(), u64> {
        Ok(())
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        buf.fill(4);
    }
    fn yield_now(&mut self) {}
    fn set_hostname(&mut self, _name: &[u8]) {}
    fn sysinfo(&self) -> crate::syscall::misc::SysInfo {
        crate::syscall::misc::SysInfo::default()
    }
    fn hostname(&self) -> Vec<u8> {
        b"fake".to_vec()
    }
    fn proc_source(&self) -> std::sync::Arc<dyn crate::fs::proc::ProcSource> {
        self.proc.clone()
    }
}
