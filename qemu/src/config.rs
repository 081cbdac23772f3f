//! What to boot and how: a [`QemuConfig`] turns into the QEMU command line of the
//! contract (docs/KERNEL-HOST-CONTRACT.md), plus the chosen memory, network, initrd and
//! kernel command line.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, FileRole};
use crate::exit::KernelKind;
use crate::paths;
use crate::size::MemorySize;

/// The QEMU binary, overridable with `$WRIT_QEMU`.
pub fn qemu_program() -> String {
    std::env::var("WRIT_QEMU")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "qemu-system-x86_64".to_string())
}

/// Guest networking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// No network device.
    #[default]
    None,
    /// A virtio-net device on QEMU user networking with `restrict=on`: the guest reaches
    /// the host's QEMU stack only, nothing leaves the machine.
    User,
    /// A modern virtio-net device on the TAP of the test network
    /// ([`crate::testnet`]): QEMU must run inside its namespace, which
    /// [`crate::testnet::TestNet::qemu_config`] arranges.
    Tap,
}

/// One machine to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConfig {
    pub qemu: String,
    pub kernel: PathBuf,
    pub kind: KernelKind,
    pub initrd: Option<PathBuf>,
    pub append: String,
    pub memory: MemorySize,
    pub net: Net,
    /// Appended verbatim after everything else.
    pub extra_args: Vec<OsString>,
    /// The second serial port (COM2, Writ's capability debug console) as a unix socket
    /// QEMU listens on; None: no COM2.
    pub console_socket: Option<PathBuf>,
}

impl QemuConfig {
    /// A machine booting `kernel`, with the contract's defaults.
    pub fn new(kind: KernelKind, kernel: PathBuf) -> Self {
        QemuConfig {
            qemu: qemu_program(),
            kernel,
            kind,
            initrd: None,
            append: String::new(),
            memory: MemorySize::DEFAULT,
            net: Net::None,
            extra_args: Vec::new(),
            console_socket: None,
        }
    }

    /// The Writ kernel from `$WRIT_KERNEL` or the workspace; errors if it is not built.
    pub fn writ() -> Result<Self, Error> {
        Ok(QemuConfig::new(KernelKind::Writ, paths::writ_kernel()?))
    }

    pub fn append(mut self, cmdline: &str) -> Self {
        if !self.append.is_empty() && !cmdline.is_empty() {
            self.append.push(' ');
        }
        self.append.push_str(cmdline);
        self
    }

    pub fn memory(mut self, memory: MemorySize) -> Self {
        self.memory = memory;
        self
    }

    pub fn initrd(mut self, initrd: PathBuf) -> Self {
        self.initrd = Some(initrd);
        self
    }

    pub fn net(mut self, net: Net) -> Self {
        self.net = net;
        self
    }

    /// Wires COM2 (the debug console) to a unix socket at `path` that QEMU listens on.
    pub fn console_socket(mut self, path: PathBuf) -> Self {
        self.console_socket = Some(path);
        self
    }

    /// COM2's arguments: a listening socket QEMU does not wait on (output to it is
    /// dropped while nobody is attached), as the second `-serial`.
    fn console_args(&self, args: &mut Vec<OsString>) {
        if let Some(path) = &self.console_socket {
            let mut dev = OsString::from("socket,id=dbg,server=on,wait=off,path=");
            dev.push(path);
            args.push("-chardev".into());
            args.push(dev);
            args.push("-serial".into());
            args.push("chardev:dbg".into());
        }
    }

    /// Checks that the files named exist, so the user sees which one is missing
    /// instead of QEMU's own message.
    pub fn check_files(&self) -> Result<(), Error> {
        if !self.kernel.is_file() {
            return Err(match self.kind {
                KernelKind::Writ if self.kernel == paths::writ_kernel_path() => {
                    Error::KernelNotBuilt {
                        path: self.kernel.clone(),
                    }
                }
                _ => Error::MissingFile {
                    what: FileRole::Kernel,
                    path: self.kernel.clone(),
                },
            });
        }
        if let Some(initrd) = &self.initrd {
            if !initrd.is_file() {
                return Err(Error::MissingFile {
                    what: FileRole::Initrd,
                    path: initrd.clone(),
                });
            }
        }
        Ok(())
    }

    /// QEMU's arguments (without the program name).
    pub fn args(&self) -> Result<Vec<OsString>, Error> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |a: &str| args.push(a.into());
        push("-accel");
        push("tcg");
        // Every feature TCG emulates (SMEP, SMAP, FSGSBASE, RDRAND, ...): the kernel
        // turns on the protections the CPU offers, and Linux gets the same CPU.
        push("-cpu");
        push("max");
        push("-m");
        push(&self.memory.qemu_arg());
        for a in [
            "-display",
            "none",
            // The console: ^C goes to the guest (signal=off), and Ctrl-A X quits
            // QEMU (the mux's escape; Ctrl-A C reaches QEMU's monitor).
            "-chardev",
            "stdio,id=con,mux=on,signal=off",
            "-serial",
            "chardev:con",
            "-mon",
            "chardev=con,mode=readline",
            "-nic",
            "none",
            "-no-reboot",
        ] {
            push(a);
        }
        push("-device");
        push("isa-debug-exit,iobase=0xf4,iosize=0x04");
        match self.net {
            Net::None => {}
            Net::User => {
                push("-netdev");
                push("user,id=n0,restrict=on");
                push("-device");
                push("virtio-net-pci,netdev=n0");
            }
            Net::Tap => {
                push("-netdev");
                push(&format!(
                    "tap,id=n0,ifname={},script=no,downscript=no",
                    crate::testnet::TAP
                ));
                push("-device");
                // Modern only (virtio 1.0, device id 0x1041), as the Writ driver drives
                // it; a fixed MAC so tests can address frames to the guest.
                push(&format!(
                    "virtio-net-pci,netdev=n0,disable-legacy=on,mac={}",
                    crate::testnet::GUEST_MAC
                ));
            }
        }
        self.console_args(&mut args);
        args.push("-kernel".into());
        args.push(self.kernel.clone().into_os_string());
        if let Some(initrd) = &self.initrd {
            args.push("-initrd".into());
            args.push(initrd.clone().into_os_string());
        }
        let append = match self.kind {
            // Linux needs to be told where its console is; Writ always uses COM1.
            KernelKind::Linux if !self.append.contains("console=") => {
                format!("console=ttyS0 {}", self.append)
                    .trim_end()
                    .to_string()
            }
            _ => self.append.clone(),
        };
        if !append.is_empty() {
            args.push("-append".into());
            args.push(append.into());
        }
        args.extend(self.extra_args.iter().cloned());
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(c: &QemuConfig) -> Vec<String> {
        c.args()
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn baseline_matches_the_contract() {
        let c = QemuConfig::new(KernelKind::Writ, "/k".into());
        assert_eq!(
            strings(&c).join(" "),
            "-accel tcg -cpu max -m 256M -display none -chardev stdio,id=con,mux=on,signal=off -serial chardev:con -mon chardev=con,mode=readline -nic none -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /k"
        );
    }

    #[test]
    fn options_land_on_the_command_line() {
        let c = QemuConfig::new(KernelKind::Writ, "/k".into())
            .memory("4G".parse().unwrap())
            .initrd("/i".into())
            .append("log=debug")
            .append("poweroff")
            .net(Net::User);
        let s = strings(&c).join(" ");
        assert!(s.contains("-m 4096M"), "{s}");
        assert!(s.contains("-initrd /i"), "{s}");
        assert!(s.ends_with("-append log=debug poweroff"), "{s}");
        assert!(
            s.contains("-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0"),
            "{s}"
        );
        assert!(!s.contains("kvm"), "{s}");
    }

    #[test]
    fn console_socket_is_the_second_serial_port() {
        let c = QemuConfig::new(KernelKind::Writ, "/k".into()).console_socket("/tmp/d.sock".into());
        let s = strings(&c).join(" ");
        assert!(
            s.contains("-serial chardev:con -mon chardev=con,mode=readline"),
            "{s}"
        );
        assert!(
            s.contains(
                "-chardev socket,id=dbg,server=on,wait=off,path=/tmp/d.sock -serial chardev:dbg"
            ),
            "{s}"
        );
        assert!(!strings(&QemuConfig::new(KernelKind::Writ, "/k".into()))
            .join(" ")
            .contains("dbg"));
    }

    #[test]
    fn linux_gets_a_serial_console() {
        let c = QemuConfig::new(KernelKind::Linux, "/vmlinuz".into()).append("quiet");
        assert!(strings(&c)
            .join(" ")
            .ends_with("-append console=ttyS0 quiet"));
        let c = QemuConfig::new(KernelKind::Linux, "/vmlinuz".into()).append("console=hvc0");
        assert!(strings(&c).join(" ").ends_with("-append console=hvc0"));
    }

    #[test]
    fn tap_is_a_modern_virtio_net_on_the_test_tap() {
        let c = QemuConfig::new(KernelKind::Writ, "/k".into()).net(Net::Tap);
        let s = strings(&c).join(" ");
        assert!(
            s.contains("-netdev tap,id=n0,ifname=wtap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,disable-legacy=on,mac=52:54:00:77:00:02"),
            "{s}"
        );
    }

    #[test]
    fn missing_files_are_named() {
        let c = QemuConfig::new(KernelKind::Writ, "/nonexistent/kernel".into());
        assert!(matches!(
            c.check_files(),
            Err(Error::MissingFile {
                what: FileRole::Kernel,
                ..
            })
        ));
        let exe = std::env::current_exe().unwrap();
        let c = QemuConfig::new(KernelKind::Writ, exe).initrd("/nonexistent/initrd".into());
        assert!(matches!(
            c.check_files(),
            Err(Error::MissingFile {
                what: FileRole::Initrd,
                ..
            })
        ));
    }
}
