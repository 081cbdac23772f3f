//! Per-CPU state and CPU feature setup: SSE for user programs, SMEP/SMAP when the CPU
//! has them, the `syscall` MSRs, and the GS-based per-CPU area the syscall entry uses
//! to find the current thread's kernel stack.

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags, Msr};

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_SFMASK: u32 = 0xc000_0084;
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// What `writ_syscall_entry` reads through %gs; the layout is fixed by trap.S.
#[repr(C)]
pub struct PerCpu {
    /// Top of the running thread's kernel stack (offset 0).
    pub kernel_rsp: u64,
    /// Scratch for the user stack pointer during syscall entry (offset 8).
    pub user_rsp: u64,
}

static mut PERCPU: PerCpu = PerCpu {
    kernel_rsp: 0,
    user_rsp: 0,
};

extern "C" {
    fn writ_syscall_entry();
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub smep: bool,
    pub smap: bool,
    /// Read by the wrfsbase fast path for arch_prctl (later).
    #[allow(dead_code)]
    pub fsgsbase: bool,
}

pub fn init() -> Features {
    let leaf7 = core::arch::x86_64::__cpuid_count(7, 0);
    let f = Features {
        smep: leaf7.ebx & (1 << 7) != 0,
        smap: leaf7.ebx & (1 << 20) != 0,
        fsgsbase: leaf7.ebx & 1 != 0,
    };
    // SAFETY: architectural control-register and MSR setup on the boot CPU, before any
    // user code exists. SSE is enabled for user programs only (the kernel target has no
    // SSE), so user FPU state is saved and restored on context switches.
    unsafe {
        Cr0::update(|c| {
            c.remove(Cr0Flags::EMULATE_COPROCESSOR);
            c.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        Cr4::update(|c| {
            c.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
            if f.smep {
                c.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION);
            }
            if f.smap {
                // The kernel never dereferences user addresses: uaccess copies through
                // the direct map, so SMAP costs nothing and catches stray pointers.
                c.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
            }
        });
        Efer::update(|e| {
            e.insert(EferFlags::SYSTEM_CALL_EXTENSIONS | EferFlags::NO_EXECUTE_ENABLE)
        });
        // Kernel CS = 0x08 (SS 0x10); sysret base 0x10 gives user SS 0x1b, CS 0x23.
        Msr::new(MSR_STAR).write((0x10u64 << 48) | (0x08u64 << 32));
        Msr::new(MSR_LSTAR).write(writ_syscall_entry as *const () as u64);
        // Clear IF, TF, DF and AC on entry.
        Msr::new(MSR_SFMASK).write(0x4_0700);
        Msr::new(MSR_GS_BASE).write(core::ptr::addr_of!(PERCPU) as u64);
        Msr::new(MSR_KERNEL_GS_BASE).write(0);
    }
    log::info!(
        "cpu: SSE for user mode, syscall/sysret MSRs set, SMEP {}, SMAP {}",
        if f.smep { "on" } else { "absent" },
        if f.smap { "on" } else { "absent" }
    );
    f
}

/// Sets the kernel stack used on the next entry from user mode (syscall and interrupts).
pub fn set_kernel_stack(top: u64) {
    // SAFETY: single CPU, called by the scheduler with interrupts off.
    unsafe { (*core::ptr::addr_of_mut!(PERCPU)).kernel_rsp = top };
    super::gdt::set_kernel_stack(top);
}

pub fn fs_base() -> u64 {
    // SAFETY: reading FS_BASE has no side effects.
    unsafe { Msr::new(MSR_FS_BASE).read() }
}

pub fn set_fs_base(v: u64) {
    // SAFETY: FS_BASE only affects user-mode %fs accesses (the kernel does not use %fs).
    unsafe { Msr::new(MSR_FS_BASE).write(v) }
}

/// User FPU/SSE state as `fxsave64` stores it.
#[repr(C, align(16))]
pub struct FpuState([u8; 512]);

impl FpuState {
    /// The state after `fninit` with SSE exceptions masked, as Linux starts a process.
    pub fn initial() -> Self {
        let mut s = FpuState([0; 512]);
        s.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes()); // FCW
        s.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes()); // MXCSR
        s
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Makes a state that came from user memory safe to load: fxrstor faults (#GP) on
    /// MXCSR reserved bits, so they are cleared.
    pub fn sanitize(&mut self) {
        let mxcsr = u32::from_le_bytes(self.0[24..28].try_into().unwrap()) & 0xffff;
        self.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    }

    pub fn save(&mut self) {
        // SAFETY: 512-byte, 16-aligned buffer as fxsave64 requires; OSFXSR is set.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) self.0.as_mut_ptr(), options(nostack)) };
    }

    pub fn restore(&self) {
        // SAFETY: the buffer holds a state produced by fxsave64 or `initial`.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) self.0.as_ptr(), options(nostack)) };
    }
}
