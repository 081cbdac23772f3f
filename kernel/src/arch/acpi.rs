//! ACPI discovery through the `acpi` crate: we read the MADT for the local APIC address,
//! the I/O APICs, the CPUs and the ISA interrupt overrides. Tables are reached through
//! the direct map, so "mapping" a region is address arithmetic.

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use arrayvec::ArrayVec;
use core::ptr::NonNull;

use crate::mm::phys_to_virt;

#[derive(Clone, Copy)]
struct DirectMap;

impl AcpiHandler for DirectMap {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = phys_to_virt(phys as u64) as *mut T;
        // SAFETY: the direct map covers all RAM and the low 4 GiB; ACPI tables live there.
        PhysicalMapping::new(
            phys,
            NonNull::new(virt).expect("direct map is never null"),
            size,
            size,
            *self,
        )
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // id and GSI base matter once devices route interrupts (issue 7)
pub struct IoApicInfo {
    pub id: u8,
    pub address: u64,
    pub gsi_base: u32,
}

/// ISA IRQ -> GSI override (e.g. the PIT's IRQ 0 arrives on GSI 2).
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // read when ISA interrupts are routed (the RTC, issue 5)
pub struct IrqOverride {
    pub irq: u8,
    pub gsi: u32,
    pub flags: u16,
}

pub struct Platform {
    pub lapic_address: u64,
    pub cpus: usize,
    pub ioapics: ArrayVec<IoApicInfo, 8>,
    pub overrides: ArrayVec<IrqOverride, 16>,
    pub has_8259: bool,
}

impl Platform {
    fn fallback() -> Self {
        Platform {
            lapic_address: 0xfee0_0000,
            cpus: 1,
            ioapics: ArrayVec::new(),
            overrides: ArrayVec::new(),
            has_8259: true,
        }
    }
}

pub fn init(rsdp: u64) -> Platform {
    // SAFETY: the RSDP address comes from the firmware (PVH start info) or from the BIOS
    // area scan the crate performs; both are reachable through the direct map.
    let tables = unsafe {
        if rsdp != 0 {
            AcpiTables::from_rsdp(DirectMap, rsdp as usize)
        } else {
            AcpiTables::search_for_rsdp_bios(DirectMap)
        }
    };
    let tables = match tables {
        Ok(t) => t,
        Err(e) => {
            log::warn!("acpi: no usable tables ({e:?}); assuming one CPU, APIC at 0xfee00000");
            return Platform::fallback();
        }
    };
    let madt = match tables.find_table::<Madt>() {
        Ok(m) => m,
        Err(e) => {
            log::warn!("acpi: no MADT ({e:?}); assuming one CPU, APIC at 0xfee00000");
            return Platform::fallback();
        }
    };
    let madt = madt.get();
    let mut p = Platform::fallback();
    p.lapic_address = u64::from(madt.local_apic_address);
    p.has_8259 = madt.supports_8259();
    p.cpus = 0;
    for entry in madt.entries() {
        match entry {
            MadtEntry::LocalApic(e) => {
                let flags = e.flags;
                if flags & 1 != 0 {
                    p.cpus += 1;
                }
            }
            MadtEntry::IoApic(e) => {
                let _ = p.ioapics.try_push(IoApicInfo {
                    id: e.io_apic_id,
                    address: u64::from(e.io_apic_address),
                    gsi_base: e.global_system_interrupt_base,
                });
            }
            MadtEntry::InterruptSourceOverride(e) => {
                let _ = p.overrides.try_push(IrqOverride {
                    irq: e.irq,
                    gsi: e.global_system_interrupt,
                    flags: e.flags,
                });
            }
            MadtEntry::LocalApicAddressOverride(e) => p.lapic_address = e.local_apic_address,
            _ => {}
        }
    }
    let rev = tables.revision();
    log::info!(
        "acpi: revision {}, MADT: {} cpu(s), local APIC at {:#x}, {} I/O APIC(s), {} ISA override(s)",
        rev,
        p.cpus.max(1),
        p.lapic_address,
        p.ioapics.len(),
        p.overrides.len()
    );
    p
}
