//! Time: the TSC, calibrated against the PIT at boot, gives nanoseconds since boot; the
//! local APIC timer, calibrated against the TSC, gives the scheduler tick.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

/// Scheduler ticks per second.
pub const HZ: u64 = 100;

static TSC_START: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(1_000_000_000);
static TICKS: AtomicU64 = AtomicU64::new(0);
/// Wall-clock seconds at boot (from the CMOS RTC), for CLOCK_REALTIME.
static EPOCH_AT_BOOT: AtomicU64 = AtomicU64::new(0);
/// CLOCK_REALTIME minus uptime, in ns: the RTC's reading at boot until someone sets
/// the clock (settimeofday, clock_settime).
static REALTIME_OFFSET_NS: AtomicU64 = AtomicU64::new(0);

fn cmos(reg: u8) -> u8 {
    // SAFETY: CMOS index/data ports; NMI stays enabled (bit 7 clear).
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

/// Reads the RTC (waiting out an update in progress) as seconds since the epoch.
pub fn read_rtc() -> u64 {
    let snapshot = || {
        while cmos(0x0a) & 0x80 != 0 {
            core::hint::spin_loop();
        }
        [
            cmos(0x00),
            cmos(0x02),
            cmos(0x04),
            cmos(0x07),
            cmos(0x08),
            cmos(0x09),
            cmos(0x32),
        ]
    };
    let mut a = snapshot();
    loop {
        let b = snapshot();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = cmos(0x0b);
    let bcd = |v: u8| {
        if status_b & 0x04 == 0 {
            (v & 0x0f) + (v >> 4) * 10
        } else {
            v
        }
    };
    let sec = bcd(a[0]) as i64;
    let min = bcd(a[1]) as i64;
    let pm = a[2] & 0x80 != 0;
    let mut hour = bcd(a[2] & 0x7f) as i64;
    if status_b & 0x02 == 0 && pm {
        hour = (hour % 12) + 12;
    }
    let day = bcd(a[3]) as i64;
    let month = bcd(a[4]) as i64;
    let century = if a[6] != 0 { bcd(a[6]) as i64 } else { 20 };
    let year = century * 100 + bcd(a[5]) as i64;
    let days = linux_personality::rtc::days_from_civil(year, month, day);
    (days * 86_400 + hour * 3600 + min * 60 + sec).max(0) as u64
}

/// Sets the RTC to `epoch` seconds (UTC), in the register format status B says
/// (BCD or binary, 12 or 24 hours), with updates held off while the registers change.
pub fn write_rtc(epoch: u64) {
    let (y, m, d) = linux_personality::rtc::civil_from_days((epoch / 86_400) as i64);
    let secs = epoch % 86_400;
    let (hour, min, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
    let status_b = cmos(0x0b);
    let enc = |v: u64| -> u8 {
        if status_b & 0x04 == 0 {
            (((v / 10) << 4) | (v % 10)) as u8
        } else {
            v as u8
        }
    };
    let hour_reg = if status_b & 0x02 == 0 {
        // 12-hour format: 12 for midnight and noon, bit 7 for PM.
        let h12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        enc(h12) | if hour >= 12 { 0x80 } else { 0 }
    } else {
        enc(hour)
    };
    let regs = [
        (0x00, enc(sec)),
        (0x02, enc(min)),
        (0x04, hour_reg),
        (0x07, enc(d as u64)),
        (0x08, enc(m as u64)),
        (0x09, enc((y % 100) as u64)),
        (0x32, enc((y / 100) as u64)),
    ];
    cmos_write(0x0b, status_b | 0x80);
    for (reg, v) in regs {
        cmos_write(reg, v);
    }
    cmos_write(0x0b, status_b & !0x80);
}

fn cmos_write(reg: u8, v: u8) {
    // SAFETY: CMOS index/data ports; NMI stays enabled (bit 7 clear).
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).write(v);
    }
}

/// CLOCK_REALTIME as (seconds, nanoseconds).
pub fn realtime() -> (i64, i64) {
    let t = REALTIME_OFFSET_NS.load(Ordering::Relaxed) + uptime_ns();
    ((t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64)
}

/// Sets CLOCK_REALTIME (the caller checked privilege and range). Times before boot
/// would need a negative offset from uptime: they are clamped to the boot instant.
pub fn set_realtime(s: i64, ns: i64) {
    let want = (s as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ns as u64);
    REALTIME_OFFSET_NS.store(want.saturating_sub(uptime_ns()), Ordering::Relaxed);
}

/// CLOCK_MONOTONIC as (seconds, nanoseconds).
pub fn monotonic() -> (i64, i64) {
    let up = uptime_ns();
    ((up / 1_000_000_000) as i64, (up % 1_000_000_000) as i64)
}

fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// PIT channel 2 counts 1.193182 MHz; we time `ms` of it with the TSC.
fn calibrate_tsc(ms: u64) -> u64 {
    const PIT_HZ: u64 = 1_193_182;
    let count = (PIT_HZ * ms / 1000) as u16;
    // SAFETY: channel 2 of the PIT and its gate in port 0x61 (speaker off); nothing else
    // in the kernel uses them.
    unsafe {
        let mut gate = Port::<u8>::new(0x61);
        let mut cmd = Port::<u8>::new(0x43);
        let mut ch2 = Port::<u8>::new(0x42);
        let g = gate.read();
        gate.write((g & !0x02) | 0x01);
        cmd.write(0xb0); // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count)
        ch2.write(count as u8);
        ch2.write((count >> 8) as u8);
        // Restart the count by toggling the gate.
        let g = gate.read();
        gate.write(g & !0x01);
        gate.write(g | 0x01);
        let start = rdtsc();
        let mut spins = 0u64;
        while gate.read() & 0x20 == 0 {
            spins += 1;
            if spins > 100_000_000 {
                break; // no PIT: keep the 1 GHz guess rather than hang
            }
        }
        let end = rdtsc();
        (end - start) * 1000 / ms
    }
}

pub fn init_early() {
    TSC_START.store(rdtsc(), Ordering::Relaxed);
    let hz = calibrate_tsc(10);
    if hz > 1_000_000 {
        TSC_HZ.store(hz, Ordering::Relaxed);
    }
}

pub fn uptime_ns() -> u64 {
    let delta = rdtsc().wrapping_sub(TSC_START.load(Ordering::Relaxed));
    (u128::from(delta) * 1_000_000_000 / u128::from(TSC_HZ.load(Ordering::Relaxed))) as u64
}

pub fn busy_wait_ns(ns: u64) {
    let end = uptime_ns() + ns;
    while uptime_ns() < end {
        core::hint::spin_loop();
    }
}

pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Called from the timer interrupt.
pub fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

pub fn init_timer() {
    EPOCH_AT_BOOT.store(read_rtc(), Ordering::Relaxed);
    REALTIME_OFFSET_NS.store(
        EPOCH_AT_BOOT.load(Ordering::Relaxed) * 1_000_000_000,
        Ordering::Relaxed,
    );
    let window_ns = 10_000_000;
    let counted = crate::arch::apic::measure_timer(window_ns);
    let timer_hz = u64::from(counted) * 1_000_000_000 / window_ns;
    let per_tick = (timer_hz / HZ) as u32;
    crate::arch::apic::start_periodic(per_tick, crate::arch::idt::VECTOR_TIMER);
    log::info!(
        "timer: wall clock {} s since the epoch (CMOS RTC); TSC {} MHz (PIT-calibrated), APIC timer {} kHz (/16), {} Hz tick = {} counts",
        EPOCH_AT_BOOT.load(Ordering::Relaxed),
        TSC_HZ.load(Ordering::Relaxed) / 1_000_000,
        timer_hz / 1000,
        HZ,
        per_tick
    );
}
