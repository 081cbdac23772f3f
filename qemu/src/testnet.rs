//! The test network (issue 7, part 5): a network namespace of its own per run, holding
//! a TAP device with the test host's address 192.168.77.1/24, QEMU (started inside the
//! namespace, its virtio-net device on the TAP), dnsmasq (DHCP 192.168.77.50-99, DNS:
//! `host.writ.test` and every other name under `writ.test` is 192.168.77.1) and an HTTP
//! server on 192.168.77.1:80 serving fixed test files. `writ-run --net tap` and the
//! integration tests start it through [`TestNet::start`].
//!
//! Nothing can leave: the namespace has no route and no interface but `lo` and the TAP,
//! and the host's own namespaces are never touched. Tests run host-side commands inside
//! it with [`TestNet::command`] (curl from the test host, nc, hostile frames).
//!
//! Teardown (kill everything in the namespace, delete it) runs on drop, and also from a
//! watchdog process started in its own session, which waits for the launcher to die:
//! so the namespace goes away even if `writ-run` is killed or interrupted. Namespaces
//! left by a launcher that died without its watchdog (SIGKILL of both) are removed by
//! the next start ([`reap_stale`]).
//!
//! The namespace is named `writ-<pid>-<n>`; QEMU is started through a small wrapper
//! script (`ip netns exec <ns> qemu-system-x86_64 "$@"`, which execs, so the process
//! the harness holds is QEMU itself).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::{Net, QemuConfig};
use crate::error::Error;

/// The test host's address on the TAP.
pub const HOST: &str = "192.168.77.1";
/// The address the Writ self-test configures statically (outside the DHCP range).
pub const GUEST_STATIC: &str = "192.168.77.2";
/// Another static address, for Linux comparison runs that do not use DHCP.
pub const LINUX_STATIC: &str = "192.168.77.3";
/// The guest's MAC address (fixed, so tests can address frames to it).
pub const GUEST_MAC: &str = "52:54:00:77:00:02";
/// The TAP device inside the namespace.
pub const TAP: &str = "wtap0";
/// DHCP leases handed out.
pub const DHCP_RANGE: (&str, &str) = ("192.168.77.50", "192.168.77.99");
/// The DNS domain dnsmasq answers for.
pub const DOMAIN: &str = "writ.test";

/// The deterministic 32 MiB test file, served as `/32m.bin`.
pub const BIG_FILE: &str = "32m.bin";
pub const BIG_SIZE: usize = 32 << 20;
/// A small text file, served as `/hello.txt`.
pub const HELLO_FILE: &str = "hello.txt";
pub const HELLO_TEXT: &str = "hello from the writ test host\n";
/// Seed of the big file's generator (see [`big_file_bytes`]).
pub const BIG_SEED: u64 = 0x5772_6974_7465_7374;

/// Bumped when the served files change, so a cached copy is regenerated.
const FILES_VERSION: u32 = 1;

/// The bytes of the big file: xorshift64* from [`BIG_SEED`], each output little-endian.
pub fn big_file_bytes() -> Vec<u8> {
    let mut x = BIG_SEED;
    let mut out = Vec::with_capacity(BIG_SIZE);
    while out.len() < BIG_SIZE {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(BIG_SIZE);
    out
}

/// The sha256 (hex) of the big file.
pub fn big_file_sha256() -> String {
    hex(&Sha256::digest(big_file_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn tool_failed(program: &str, what: String) -> Error {
    Error::Spawn {
        program: program.to_string(),
        source: io::Error::other(what),
    }
}

/// Runs `program args`, failing with its stderr if it fails.
fn run(program: &str, args: &[&str]) -> Result<String, Error> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            program: program.to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(tool_failed(
            program,
            format!(
                "`{program} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The directory of served files (generated once into the cache, then reused).
pub fn files_dir() -> Result<PathBuf, Error> {
    let dir = crate::alpine::cache_dir()?.join(format!("testnet-files-v{FILES_VERSION}"));
    if dir.join(BIG_FILE).is_file() && dir.join(HELLO_FILE).is_file() {
        return Ok(dir);
    }
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let tmp = dir.with_extension(format!(
        "partial-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    fs::write(tmp.join(BIG_FILE), big_file_bytes()).map_err(io_err(&tmp))?;
    fs::write(tmp.join(HELLO_FILE), HELLO_TEXT).map_err(io_err(&tmp))?;
    // Another process may have won the race; its copy is identical.
    if fs::rename(&tmp, &dir).is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    Ok(dir)
}

/// A running test network. Dropping it tears it down.
pub struct TestNet {
    name: String,
    /// Logs, leases, the QEMU wrapper.
    dir: PathBuf,
    files: PathBuf,
    servers: Vec<Child>,
    watchdog: Option<Child>,
    down: bool,
}

/// The shell commands that remove namespace `ns` and the run directory `dir`.
fn teardown_script(ns: &str, dir: &Path) -> String {
    format!(
        "for p in $(ip netns pids {ns} 2>/dev/null); do kill -9 $p 2>/dev/null; done; \
         ip netns del {ns} 2>/dev/null; rm -rf '{}'",
        dir.display()
    )
}

/// Removes namespaces `writ-<pid>-<n>` whose launcher process no longer exists.
pub fn reap_stale() {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name
            .strip_prefix("writ-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let dir = std::env::temp_dir().join(name);
            let _ = Command::new("sh")
                .args(["-c", &teardown_script(name, &dir)])
                .status();
        }
    }
}

impl TestNet {
    /// Creates the namespace, the TAP, dnsmasq and the HTTP server, and waits until
    /// both servers listen.
    pub fn start() -> Result<TestNet, Error> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        reap_stale();
        let files = files_dir()?;
        let name = format!(
            "writ-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&name);
        fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        run("ip", &["netns", "add", &name])?;
        let mut net = TestNet {
            name,
            dir,
            files,
            servers: Vec::new(),
            watchdog: None,
            down: false,
        };
        net.watchdog = Some(net.spawn_watchdog()?);
        net.configure()?;
        Ok(net)
    }

    fn spawn_watchdog(&self) -> Result<Child, Error> {
        // setsid: out of our process group, so a ^C or a kill of the group that ends
        // the launcher leaves the watchdog to clean up.
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done; {}",
            std::process::id(),
            teardown_script(&self.name, &self.dir)
        );
        Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| Error::Spawn {
                program: "setsid".into(),
                source,
            })
    }

    fn configure(&mut self) -> Result<(), Error> {
        let ns = self.name.clone();
        let cidr = format!("{HOST}/24");
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run(
            "ip",
            &["-n", &ns, "tuntap", "add", "dev", TAP, "mode", "tap"],
        )?;
        run("ip", &["-n", &ns, "addr", "add", &cidr, "dev", TAP])?;
        run("ip", &["-n", &ns, "link", "set", TAP, "up"])?;

        let d = &self.dir;
        let dnsmasq = self.spawn_logged(
            "dnsmasq",
            &[
                "--keep-in-foreground".into(),
                "--conf-file=/dev/null".into(),
                "--user=root".into(),
                "--group=root".into(),
                format!("--interface={TAP}"),
                "--bind-interfaces".into(),
                format!("--listen-address={HOST}"),
                "--no-resolv".into(),
                "--no-hosts".into(),
                "--no-poll".into(),
                format!("--domain={DOMAIN}"),
                // Local: a query dnsmasq has no record for (AAAA, a reverse lookup)
                // gets NODATA/NXDOMAIN, not REFUSED (there is no upstream): musl fails
                // a whole lookup when its AAAA half is refused.
                format!("--local=/{DOMAIN}/"),
                "--local=/77.168.192.in-addr.arpa/".into(),
                format!("--host-record=host.{DOMAIN},{HOST}"),
                format!("--address=/{DOMAIN}/{HOST}"),
                format!(
                    "--dhcp-range={},{},255.255.255.0,1h",
                    DHCP_RANGE.0, DHCP_RANGE.1
                ),
                format!("--dhcp-option=option:router,{HOST}"),
                format!("--dhcp-option=option:dns-server,{HOST}"),
                "--dhcp-authoritative".into(),
                format!("--dhcp-leasefile={}", d.join("leases").display()),
                format!("--pid-file={}", d.join("dnsmasq.pid").display()),
                "--log-dhcp".into(),
                "--log-queries".into(),
                format!("--log-facility={}", d.join("dnsmasq.log").display()),
            ],
        )?;
        self.servers.push(dnsmasq);
        let httpd = self.spawn_logged(
            "busybox",
            &[
                "httpd".into(),
                "-f".into(),
                "-vv".into(),
                "-p".into(),
                format!("{HOST}:80"),
                "-h".into(),
                self.files.display().to_string(),
            ],
        )?;
        self.servers.push(httpd);
        self.wait_listening(Duration::from_secs(10))
    }

    /// Starts `program` inside the namespace, its output in `<dir>/<program>.out`.
    fn spawn_logged(&self, program: &str, args: &[String]) -> Result<Child, Error> {
        let out_path = self.dir.join(format!("{program}.out"));
        let out = fs::File::create(&out_path).map_err(|source| Error::Io {
            path: out_path.clone(),
            source,
        })?;
        let err = out.try_clone().map_err(|source| Error::Io {
            path: out_path,
            source,
        })?;
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: program.to_string(),
                source,
            })
    }

    /// Waits until TCP port 80 and UDP port 53 are bound on the host address.
    fn wait_listening(&mut self, limit: Duration) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            let tcp = run("ip", &["netns", "exec", &self.name, "cat", "/proc/net/tcp"])?;
            let udp = run("ip", &["netns", "exec", &self.name, "cat", "/proc/net/udp"])?;
            // 192.168.77.1 is 014DA8C0 in /proc's host-order hex; 0050 = 80, 0035 = 53.
            let http = tcp.contains("014DA8C0:0050 00000000:0000 0A");
            let dns = udp.contains("014DA8C0:0035");
            if http && dns {
                return Ok(());
            }
            for s in &mut self.servers {
                if let Ok(Some(status)) = s.try_wait() {
                    return Err(tool_failed(
                        "testnet",
                        format!(
                            "a server of the test network exited ({status}); see {}",
                            self.dir.display()
                        ),
                    ));
                }
            }
            if start.elapsed() > limit {
                return Err(tool_failed(
                    "testnet",
                    format!(
                        "servers not listening after {limit:?} (http {http}, dns {dns}); see {}",
                        self.dir.display()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The namespace's name (for `ip netns exec NAME ...` by hand).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The run directory (dnsmasq and httpd logs, leases).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory the HTTP server serves.
    pub fn files(&self) -> &Path {
        &self.files
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// `config`, changed to boot inside the namespace with its virtio-net on the TAP.
    pub fn qemu_config(&self, mut config: QemuConfig) -> Result<QemuConfig, Error> {
        let wrapper = self.dir.join("qemu");
        let script = format!(
            "#!/bin/sh\nexec ip netns exec {} {} \"$@\"\n",
            self.name,
            shell_word(&config.qemu)
        );
        let write = || -> io::Result<()> {
            let mut f = fs::File::create(&wrapper)?;
            f.write_all(script.as_bytes())?;
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(0o755))
        };
        write().map_err(|source| Error::Io {
            path: wrapper.clone(),
            source,
        })?;
        config.qemu = wrapper.display().to_string();
        config.net = Net::Tap;
        Ok(config)
    }

    /// Kills what runs in the namespace (QEMU included) and deletes it. Idempotent.
    pub fn teardown(&mut self) {
        if self.down {
            return;
        }
        self.down = true;
        for s in &mut self.servers {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = Command::new("sh")
            .args(["-c", &teardown_script(&self.name, &self.dir)])
            .status();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether namespace `name` exists.
pub fn namespace_exists(name: &str) -> bool {
    run("ip", &["netns", "list"]).is_ok_and(|l| {
        l.lines()
            .any(|line| line.split_whitespace().next() == Some(name))
    })
}
