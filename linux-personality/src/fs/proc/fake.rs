//! A [`ProcSource`] for host tests: processes, maps and descriptors that a test
//! writes in directly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::vec::Vec;

use spin::Mutex;

use super::{MapEntry, ProcInfo, ProcSource, SystemInfo};
use crate::file::OpenFile;
use crate::fs::FsContext;

#[derive(Default)]
pub struct FakeState {
    pub caller: (u32, u32),
    pub procs: BTreeMap<u32, ProcInfo>,
    pub maps: BTreeMap<u32, Vec<MapEntry>>,
    pub files: BTreeMap<u32, Vec<(u32, Arc<OpenFile>, bool)>>,
    pub contexts: BTreeMap<u32, FsContext>,
    pub system: SystemInfo,
}

#[derive(Default)]
pub struct FakeProc(pub Mutex<FakeState>);

impl FakeProc {
    /// One process, pid 1, root, running `/bin/sh`: the fake kernel's caller.
    pub fn with_init() -> FakeProc {
        let mut s = FakeState {
            caller: (1, 1),
            ..FakeState::default()
        };
        s.procs.insert(
            1,
            ProcInfo {
                pid: 1,
                ppid: 0,
                pgid: 1,
                sid: 1,
                tpgid: -1,
                state: b'R',
                comm: b"sh".to_vec(),
                cmdline: b"/bin/sh\0-c\0true\0".to_vec(),
                environ: b"HOME=/\0".to_vec(),
                exe: Some(b"/bin/busybox".to_vec()),
                threads: vec![1],
                vsize: 4 << 20,
                rss_pages: 100,
                umask: 0o022,
                ..ProcInfo::default()
            },
        );
        s.system = SystemInfo {
            uptime_ns: 12_340_000_000,
            idle_ns: 5_670_000_000,
            user_ns: 3_000_000_000,
            system_ns: 1_000_000_000,
            mem_total: 512 << 20,
            mem_free: 256 << 20,
            boot_time: 1_764_000_000,
            ncpus: 1,
            cpu_vendor: b"GenuineIntel".to_vec(),
            cpu_family: 6,
            cpu_model: 6,
            cpu_stepping: 3,
            cpu_name: b"QEMU Virtual CPU version 2.5+".to_vec(),
            cpu_flags: b"fpu tsc".to_vec(),
            cpu_mhz: 2000,
            hostname: b"fake".to_vec(),
            cmdline: b"console=ttyS0".to_vec(),
            forks: 1,
            running: 1,
            last_pid: 1,
            ctxt: 0,
        };
        FakeProc(Mutex::new(s))
    }
}

impl ProcSource for FakeProc {
    fn caller(&self) -> (u32, u32) {
        self.0.lock().caller
    }
    fn pids(&self) -> Vec<u32> {
        self.0.lock().procs.keys().copied().collect()
    }
    fn proc_info(&self, pid: u32) -> Option<ProcInfo> {
        self.0.lock().procs.get(&pid).cloned()
    }
    fn vm_maps(&self, pid: u32) -> Vec<MapEntry> {
        self.0.lock().maps.get(&pid).cloned().unwrap_or_default()
    }
    fn files(&self, pid: u32) -> Vec<(u32, Arc<OpenFile>, bool)> {
        self.0.lock().files.get(&pid).cloned().unwrap_or_default()
    }
    fn fs_context(&self, pid: u32) -> Option<FsContext> {
        self.0.lock().contexts.get(&pid).cloned()
    }
    fn caps_text(&self, pid: u32) -> Vec<u8> {
        format!("caps of {pid}\n").into_bytes()
    }
    fn system(&self) -> SystemInfo {
        self.0.lock().system.clone()
    }
    fn set_hostname(&self, name: &[u8]) {
        self.0.lock().system.hostname = name.to_vec();
    }
}
