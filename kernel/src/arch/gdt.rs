//! GDT and TSS. Selector order is fixed by `sysret`: kernel code, kernel data, user
//! data, user code (STAR expects user SS = base + 8 and user CS = base + 16).
//! The TSS carries IST stacks for the faults that must not run on a possibly broken
//! stack (double fault, NMI, machine check) and RSP0 for entries from user mode.

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

pub const IST_DOUBLE_FAULT: u16 = 0;
pub const IST_NMI: u16 = 1;
pub const IST_MACHINE_CHECK: u16 = 2;
const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; 3]);
static mut IST_STACKS: IstStacks = IstStacks([[0; IST_STACK_SIZE]; 3]);

static mut TSS: TaskStateSegment = TaskStateSegment::new();

pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub user_data: SegmentSelector,
    pub user_code: SegmentSelector,
    pub tss: SegmentSelector,
}

static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

pub fn init() {
    // SAFETY: boot is single-threaded and interrupts are off; the TSS and IST stacks are
    // statics written only here (RSP0 later only through `set_kernel_stack`).
    let tss: &'static TaskStateSegment = unsafe {
        let tss = &mut *core::ptr::addr_of_mut!(TSS);
        let stacks = &*core::ptr::addr_of!(IST_STACKS);
        for (i, s) in stacks.0.iter().enumerate() {
            let top = VirtAddr::from_ptr(s.as_ptr()) + IST_STACK_SIZE as u64;
            tss.interrupt_stack_table[i] = top;
        }
        &*tss
    };
    let (gdt, sel) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        let tss = gdt.append(Descriptor::tss_segment(tss));
        (
            gdt,
            Selectors {
                kernel_code,
                kernel_data,
                user_data,
                user_code,
                tss,
            },
        )
    });
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded.
    unsafe {
        CS::set_reg(sel.kernel_code);
        SS::set_reg(sel.kernel_data);
        DS::set_reg(sel.kernel_data);
        ES::set_reg(sel.kernel_data);
        load_tss(sel.tss);
    }
    log::info!(
        "gdt: kernel cs={:#x} ds={:#x}, user cs={:#x} ss={:#x}, tss={:#x} with 3 IST stacks of {} KiB",
        sel.kernel_code.0,
        sel.kernel_data.0,
        sel.user_code.0,
        sel.user_data.0,
        sel.tss.0,
        IST_STACK_SIZE / 1024
    );
}

#[allow(dead_code)] // used once user mode exists (issue 5)
pub fn selectors() -> &'static Selectors {
    &GDT.get().expect("gdt not initialised").1
}

/// The stack the CPU switches to on an entry from user mode.
pub fn set_kernel_stack(top: u64) {
    // SAFETY: single CPU; called with interrupts off by the scheduler on a switch.
    unsafe { (*core::ptr::addr_of_mut!(TSS)).privilege_stack_table[0] = VirtAddr::new(top) };
}
