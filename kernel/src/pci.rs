//! PCI enumeration through configuration mechanism #1 (ports 0xcf8/0xcfc): bus 0 and
//! every bus behind a PCI-to-PCI bridge. Devices are kept for drivers to claim.

use alloc::vec::Vec;
use spin::Mutex;
use x86_64::instructions::port::Port;

#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // fields read by drivers (virtio-net, issue 7) and the debug console
pub struct PciDevice {
    pub bus: u8,
    pub dev: u8,
    pub func: u8,
    pub vendor: u16,
    pub device: u16,
    pub class: u8,
    pub subclass: u8,
    pub prog_if: u8,
    pub irq_line: u8,
}

static DEVICES: Mutex<Vec<PciDevice>> = Mutex::new(Vec::new());

/// Serialises the 0xcf8/0xcfc address/data pair: a driver probing from a kernel thread
/// must not interleave with another configuration access.
static CONFIG: crate::sync::IrqMutex<()> = crate::sync::IrqMutex::new(());

fn config_address(bus: u8, dev: u8, func: u8, offset: u8) -> u32 {
    0x8000_0000u32
        | (u32::from(bus) << 16)
        | (u32::from(dev) << 11)
        | (u32::from(func) << 8)
        | u32::from(offset & 0xfc)
}

pub fn config_read(bus: u8, dev: u8, func: u8, offset: u8) -> u32 {
    let _g = CONFIG.lock();
    // SAFETY: configuration mechanism #1; the address/data port pair is only used here,
    // under CONFIG.
    unsafe {
        Port::<u32>::new(0xcf8).write(config_address(bus, dev, func, offset));
        Port::<u32>::new(0xcfc).read()
    }
}

pub fn config_write(bus: u8, dev: u8, func: u8, offset: u8, value: u32) {
    let _g = CONFIG.lock();
    // SAFETY: as in config_read.
    unsafe {
        Port::<u32>::new(0xcf8).write(config_address(bus, dev, func, offset));
        Port::<u32>::new(0xcfc).write(value);
    }
}

fn class_name(class: u8, subclass: u8) -> &'static str {
    match (class, subclass) {
        (0x01, 0x01) => "IDE controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, _) => "storage",
        (0x02, 0x00) => "ethernet",
        (0x02, _) => "network",
        (0x03, _) => "display",
        (0x06, 0x00) => "host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, 0x80) => "bridge",
        (0x06, _) => "bridge",
        (0x0c, 0x03) => "USB",
        _ => "device",
    }
}

fn scan_bus(bus: u8, found: &mut Vec<PciDevice>, depth: u8) {
    for dev in 0..32u8 {
        let id = config_read(bus, dev, 0, 0);
        if id & 0xffff == 0xffff {
            continue;
        }
        let header = (config_read(bus, dev, 0, 0x0c) >> 16) as u8;
        let funcs = if header & 0x80 != 0 { 8 } else { 1 };
        for func in 0..funcs {
            let id = config_read(bus, dev, func, 0);
            if id & 0xffff == 0xffff {
                continue;
            }
            let class = config_read(bus, dev, func, 0x08);
            let irq = config_read(bus, dev, func, 0x3c);
            let d = PciDevice {
                bus,
                dev,
                func,
                vendor: id as u16,
                device: (id >> 16) as u16,
                class: (class >> 24) as u8,
                subclass: (class >> 16) as u8,
                prog_if: (class >> 8) as u8,
                irq_line: irq as u8,
            };
            found.push(d);
            let htype = (config_read(bus, dev, func, 0x0c) >> 16) as u8 & 0x7f;
            if d.class == 0x06 && d.subclass == 0x04 && htype == 1 && depth < 8 {
                let secondary = (config_read(bus, dev, func, 0x18) >> 8) as u8;
                if secondary > bus {
                    scan_bus(secondary, found, depth + 1);
                }
            }
        }
    }
}

pub fn init() {
    let mut found = Vec::new();
    scan_bus(0, &mut found, 0);
    log::info!("pci: {} devices", found.len());
    for d in &found {
        log::info!(
            "pci: {:02x}:{:02x}.{} {:04x}:{:04x} class {:02x}.{:02x} {}",
            d.bus,
            d.dev,
            d.func,
            d.vendor,
            d.device,
            d.class,
            d.subclass,
            class_name(d.class, d.subclass)
        );
    }
    *DEVICES.lock() = found;
}

pub fn devices() -> Vec<PciDevice> {
    DEVICES.lock().clone()
}

impl PciDevice {
    pub fn read32(&self, offset: u8) -> u32 {
        config_read(self.bus, self.dev, self.func, offset)
    }

    pub fn write32(&self, offset: u8, value: u32) {
        config_write(self.bus, self.dev, self.func, offset, value)
    }

    pub fn read8(&self, offset: u8) -> u8 {
        (self.read32(offset & !3) >> (8 * (offset & 3))) as u8
    }

    pub fn read16(&self, offset: u8) -> u16 {
        (self.read32(offset & !3) >> (8 * (offset & 2))) as u16
    }

    /// Writes the 16-bit register at `offset` (even), keeping its neighbour.
    pub fn write16(&self, offset: u8, value: u16) {
        let shift = 8 * (offset & 2);
        let old = self.read32(offset & !3) & !(0xffff << shift);
        self.write32(offset & !3, old | (u32::from(value) << shift));
    }

    /// The physical address of memory BAR `index` (0 if it is an I/O BAR or absent).
    /// A 64-bit BAR takes the next slot for its high half.
    pub fn bar_address(&self, index: u8) -> u64 {
        if index > 5 {
            return 0;
        }
        let lo = self.read32(0x10 + 4 * index);
        if lo & 1 != 0 {
            return 0;
        }
        let base = u64::from(lo & !0xf);
        if (lo >> 1) & 3 == 2 && index < 5 {
            base | (u64::from(self.read32(0x10 + 4 * (index + 1))) << 32)
        } else {
            base
        }
    }

    /// Turns on memory decoding and bus mastering (DMA), so the device may reach RAM.
    pub fn enable_mmio_and_dma(&self) {
        let cmd = self.read16(0x04);
        self.write16(0x04, cmd | 0x2 | 0x4);
    }

    /// Offsets of the capabilities with id `id` in the capability list.
    pub fn capabilities(&self, id: u8) -> Vec<u8> {
        let mut found = Vec::new();
        // Status bit 4: the device has a capability list.
        if self.read16(0x06) & 0x10 == 0 {
            return found;
        }
        let mut at = self.read8(0x34) & 0xfc;
        // A malformed list could loop; 48 entries fill the 192 bytes after the header.
        for _ in 0..48 {
            if at < 0x40 {
                break;
            }
            if self.read8(at) == id {
                found.push(at);
            }
            at = self.read8(at + 1) & 0xfc;
        }
        found
    }
}
