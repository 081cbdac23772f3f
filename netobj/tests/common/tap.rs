//! A TAP device as a NetDevice, inside a network namespace the test creates.
//!
//! `in_netns` runs a closure on a fresh thread that first unshares its network namespace
//! (namespaces are per thread), so the TAP device, the addresses, the Linux sockets and
//! any command or thread started from there live in a namespace of their own and nothing
//! can leave it; the namespace vanishes with the thread. Needs root; callers skip with a
//! message otherwise. The library forbids unsafe; these few libc calls live in tests.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::process::Command;
use std::time::{Duration as StdDuration, Instant as WallClock};

use netobj::{Instant, NetDevice, NetStack, Readiness, Shutdown, StackConfig};

pub const LINUX_IP: [u8; 4] = [192, 168, 77, 1];
pub const WRIT_IP: [u8; 4] = [192, 168, 77, 2];
pub const TAP_MTU: usize = 65_000;

/// Why the TAP tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: cannot create a network namespace and a TAP device".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    if !Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("no `ip` command (iproute2) to configure the TAP device".into());
    }
    None
}

/// Run `f` on a thread in a new network namespace.
pub fn in_netns<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::spawn(move || {
        // SAFETY: unshare only changes this thread's namespace membership.
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            r,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        f()
    })
    .join()
    .unwrap()
}

pub fn sh(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect(args[0]);
    assert!(st.success(), "{args:?} failed");
}

pub struct Tap {
    file: File,
    mtu: usize,
    /// Frames from Linux are held this long before the stack sees them (a slow guest;
    /// this kernel has no netem to delay them on the Linux side).
    delay: StdDuration,
    held: std::collections::VecDeque<(WallClock, Vec<u8>)>,
    /// The NetStack's window edges, as it sends them.
    pub edges: std::sync::Arc<std::sync::Mutex<super::EdgeWatch>>,
}

impl Tap {
    /// Create TAP device `name` (IFF_TAP | IFF_NO_PI), nonblocking.
    pub fn open(name: &str, mtu: usize) -> Tap {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun")
            .expect("/dev/net/tun");
        let mut ifr = [0u8; 40];
        ifr[..name.len()].copy_from_slice(name.as_bytes());
        let flags: i16 = (libc::IFF_TAP | libc::IFF_NO_PI) as i16;
        ifr[16..18].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: TUNSETIFF reads and writes a struct ifreq (40 bytes) we own.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, ifr.as_mut_ptr()) };
        assert!(r >= 0, "TUNSETIFF: {}", std::io::Error::last_os_error());
        Tap {
            file,
            mtu,
            delay: StdDuration::ZERO,
            held: Default::default(),
            edges: Default::default(),
        }
    }

    /// Wait up to `timeout` for a frame to be readable.
    pub fn wait(&self, timeout: StdDuration) {
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own.
        unsafe {
            libc::poll(
                &mut pfd,
                1,
                timeout.as_millis().min(i32::MAX as u128) as i32,
            )
        };
    }
}

impl NetDevice for Tap {
    fn mac_address(&self) -> [u8; 6] {
        [0x02, 0, 0, 0, 0x77, 0x02]
    }
    fn mtu(&self) -> usize {
        self.mtu
    }
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.delay.is_zero() {
            return self.file.read(buf).ok().filter(|&n| n > 0);
        }
        let mut frame = vec![0u8; self.mtu + 14];
        while let Some(n) = self.file.read(&mut frame).ok().filter(|&n| n > 0) {
            self.held.push_back((WallClock::now(), frame[..n].to_vec()));
        }
        if self.held.front()?.0.elapsed() < self.delay {
            return None;
        }
        let (_, f) = self.held.pop_front()?;
        buf[..f.len()].copy_from_slice(&f);
        Some(f.len())
    }
    fn transmit(&mut self, frame: &[u8]) -> bool {
        self.edges.lock().unwrap().observe(frame);
        self.file.write(frame).is_ok()
    }
}

/// A NetStack on a new TAP device `wtap0` whose Linux side is 192.168.77.1/24.
/// Returns the stack, a second handle on the device fd for waiting, and the clock start.
pub struct TapNet {
    pub stack: NetStack,
    waiter: Tap,
    start: WallClock,
}

impl TapNet {
    pub fn new() -> TapNet {
        TapNet::with_mtu(TAP_MTU)
    }

    /// The same with a given MTU on both sides of the TAP device.
    pub fn with_mtu(mtu: usize) -> TapNet {
        TapNet::with_mtu_delay(mtu, StdDuration::ZERO)
    }

    /// The same, with frames from Linux held for `delay` before the stack sees them.
    pub fn with_mtu_delay(mtu: usize, delay: StdDuration) -> TapNet {
        sh(&["ip", "link", "set", "lo", "up"]);
        let mut tap = Tap::open("wtap0", mtu);
        tap.delay = delay;
        let waiter = Tap {
            file: tap.file.try_clone().unwrap(),
            mtu,
            delay: StdDuration::ZERO,
            held: Default::default(),
            edges: tap.edges.clone(),
        };
        sh(&["ip", "addr", "add", "192.168.77.1/24", "dev", "wtap0"]);
        sh(&["ip", "link", "set", "wtap0", "mtu", &mtu.to_string(), "up"]);
        let cfg = StackConfig {
            address: Some((WRIT_IP.into(), 24)),
            ..StackConfig::default()
        };
        let start = WallClock::now();
        let stack = NetStack::new(Box::new(tap), cfg, Instant::from_millis(0));
        TapNet {
            stack,
            waiter,
            start,
        }
    }

    /// Times the NetStack moved a window's right edge left, and the largest step back.
    pub fn window_shrinks(&self) -> (u64, u32) {
        let e = self.waiter.edges.lock().unwrap();
        (e.shrinks, e.worst)
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as i64)
    }

    /// Poll the stack until `done` holds (true) or `timeout` passes (false); sleeps on the
    /// TAP fd until the stack's next deadline when idle.
    pub fn pump(&self, timeout: StdDuration, mut done: impl FnMut() -> bool) -> bool {
        let end = WallClock::now() + timeout;
        loop {
            let now = self.now();
            self.stack.poll(now);
            if done() {
                return true;
            }
            if WallClock::now() >= end {
                return false;
            }
            let wait = match self.stack.poll_at(self.now()) {
                Some(t) if t <= self.now() => continue,
                Some(t) => StdDuration::from_micros((t - self.now()).total_micros()),
                None => StdDuration::from_millis(5),
            };
            self.waiter.wait(wait.min(StdDuration::from_millis(5)));
        }
    }

    /// Sleep until a frame is readable on the TAP device, at most `max`.
    pub fn idle(&self, max: StdDuration) {
        self.waiter.wait(max);
    }

    /// Poll without sleeping (for throughput).
    pub fn spin(&self, mut done: impl FnMut() -> bool) {
        loop {
            self.stack.poll(self.now());
            if done() {
                return;
            }
        }
    }
}

/// Bulk TCP transfer of `total` bytes between a NetStack and Linux over TAP, in MiB/s;
/// checks every byte arrived.
pub fn tap_throughput(to_linux: bool, total: usize) -> f64 {
    tap_throughput_mtu(to_linux, total, TAP_MTU)
}

/// The same over a TAP device with the given MTU.
pub fn tap_throughput_mtu(to_linux: bool, total: usize, mtu: usize) -> f64 {
    in_netns(move || {
        let net = TapNet::with_mtu(mtu);
        let listener = TcpListener::bind("192.168.77.1:5001").unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            if to_linux {
                let mut buf = vec![0u8; 1 << 20];
                let mut got = 0;
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        return got;
                    }
                    got += n;
                }
            } else {
                let chunk = vec![0x33u8; 1 << 20];
                let mut sent = 0;
                while sent < total {
                    let n = (total - sent).min(chunk.len());
                    s.write_all(&chunk[..n]).unwrap();
                    sent += n;
                }
                sent
            }
        });
        let c = net.stack.create_tcp(super::root()).unwrap();
        let _ = c.connect(super::sa(LINUX_IP.into(), 5001));
        assert!(net.pump(StdDuration::from_secs(5), || c
            .readiness()
            .contains(Readiness::OUT)));
        let t0 = std::time::Instant::now();
        let chunk = vec![0x5au8; 256 * 1024];
        let mut buf = vec![0u8; 256 * 1024];
        let (mut sent, mut got) = (0usize, 0usize);
        net.spin(|| {
            if to_linux {
                while sent < total {
                    match c.send(&chunk[..chunk.len().min(total - sent)]) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
                if sent == total {
                    let _ = c.shutdown(Shutdown::Write);
                }
                peer.is_finished()
            } else {
                while let Ok(n) = c.recv(&mut buf, false) {
                    if n == 0 {
                        return true;
                    }
                    got += n;
                }
                got >= total && peer.is_finished()
            }
        });
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(peer.join().unwrap(), total);
        total as f64 / (1024.0 * 1024.0) / secs
    })
}

/// Mean round trip of a 32-byte message between a NetStack client and a Linux echo
/// server over TAP, in µs.
pub fn tap_rtt(rounds: usize) -> f64 {
    in_netns(move || {
        let net = TapNet::new();
        let listener = TcpListener::bind("192.168.77.1:5002").unwrap();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_nodelay(true).unwrap();
            let mut buf = [0u8; 32];
            while s.read_exact(&mut buf).is_ok() {
                s.write_all(&buf).unwrap();
            }
        });
        let c = net.stack.create_tcp(super::root()).unwrap();
        c.set_option(netobj::SockOpt::TcpNoDelay, 1).unwrap();
        let _ = c.connect(super::sa(LINUX_IP.into(), 5002));
        assert!(net.pump(StdDuration::from_secs(5), || c
            .readiness()
            .contains(netobj::Readiness::OUT)));
        let mut buf = [0u8; 64];
        let t0 = WallClock::now();
        for _ in 0..rounds {
            c.send(&[7u8; 32]).unwrap();
            let mut got = 0;
            net.spin(|| {
                if let Ok(n) = c.recv(&mut buf, false) {
                    got += n;
                }
                got >= 32
            });
        }
        let us = t0.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        drop(c);
        net.pump(StdDuration::from_secs(1), || echo.is_finished());
        us
    })
}
