//! x86_64 specifics: descriptor tables, interrupt entry, ACPI discovery, the APICs.
//! Everything here is unsafe at the edges; the rest of the kernel sees safe functions.

pub mod acpi;
pub mod apic;
pub mod cpu;
pub mod gdt;
pub mod idt;
