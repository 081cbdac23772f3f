//! Writ boots under QEMU and says so on COM1, as docs/KERNEL-HOST-CONTRACT.md promises.
//! Each test is one boot; the serial log of each is kept in target/qemu-logs/<test>.log,
//! and a failed wait shows its last 40 lines.
//!
//! The kernel comes from $WRIT_KERNEL or the workspace build; if neither exists the tests
//! fail telling to run `make kernel`.

use std::time::Duration;

use writ_qemu::{paths, Machine, MemorySize, Outcome, QemuConfig, BANNER, SUBSYSTEMS};

/// Generous: a TCG boot takes well under a second, but CI shares two cores.
const T: Duration = Duration::from_secs(60);
const POWEROFF: Outcome = Outcome::PowerOff { status: 0 };

/// A log line of `level` from `subsystem`, per the contract's line format.
fn line(level: &str, subsystem: &str) -> String {
    format!(r"(?m)^\[ *\d+\.\d{{6}}\] {level:<5} {subsystem}:")
}

fn boot(name: &str, append: &str) -> Machine {
    let config = QemuConfig::writ().unwrap().append(append);
    Machine::start(name, &config).unwrap()
}

#[test]
fn banner_then_every_subsystem_in_order() {
    let mut m = boot("banner_then_every_subsystem_in_order", "poweroff");
    m.wait_for(BANNER, T).unwrap();
    assert_eq!(
        m.serial().lines().find(|l| !l.trim().is_empty()),
        Some("Writ 0.1.0 (x86_64) — a capability kernel"),
        "the banner is the first line"
    );
    for name in SUBSYSTEMS {
        // Each wait starts after the previous match, so this also checks the order.
        m.wait_for(&line("INFO", name), T).unwrap();
    }
    let done = m.wait_for(r"INFO  boot: done in (\d+) ms", T).unwrap();
    let ms: u64 = done.group(1).unwrap().parse().unwrap();
    assert!(ms < 10_000, "boot took {ms} ms");
    m.expect_exit(POWEROFF, T).unwrap();
    let log = std::fs::read_to_string(m.log_path().unwrap()).unwrap();
    assert!(
        log.contains("boot: done in"),
        "the serial log is kept under target/qemu-logs"
    );
    assert!(m.log_path().unwrap().starts_with(paths::log_dir()));
}

#[test]
fn selftest_timer_ticks_advance() {
    let mut m = boot("selftest_timer_ticks_advance", "selftest=timer");
    let ok = m
        .wait_for(r"selftest timer: ok ticks (\d+) -> (\d+)", T)
        .unwrap();
    let before: u64 = ok.group(1).unwrap().parse().unwrap();
    let after: u64 = ok.group(2).unwrap().parse().unwrap();
    assert!(after > before, "ticks did not advance: {before} -> {after}");
    m.expect_exit(POWEROFF, T).unwrap();
}

#[test]
fn selftest_heap_64_mib_in_many_sizes() {
    let mut m = boot("selftest_heap_64_mib_in_many_sizes", "selftest=heap");
    let ok = m.wait_for(r"selftest heap: ok (\d+) bytes", T).unwrap();
    let bytes: u64 = ok.group(1).unwrap().parse().unwrap();
    assert!(bytes >= 64 << 20, "only {bytes} bytes allocated");
    m.expect_exit(POWEROFF, T).unwrap();
}

#[test]
fn selftest_threads_interleave() {
    let mut m = boot("selftest_threads_interleave", "selftest=threads");
    m.wait_for(r"selftest threads: ok", T).unwrap();
    m.expect_exit(POWEROFF, T).unwrap();
}

#[test]
fn selftests_run_together() {
    let mut m = boot("selftests_run_together", "selftest=timer,heap,threads");
    for name in ["timer", "heap", "threads"] {
        m.wait_for(&format!("selftest {name}: ok"), T).unwrap();
    }
    m.expect_exit(POWEROFF, T).unwrap();
    assert!(!m.serial().contains("PANIC"));
}

#[test]
fn deliberate_panic_prints_file_line_and_fails() {
    let mut m = boot(
        "deliberate_panic_prints_file_line_and_fails",
        "selftest=panic",
    );
    let p = m
        .wait_for(r"KERNEL PANIC at ([\w/.-]+\.rs):(\d+): (.+)", T)
        .unwrap();
    assert!(p.group(1).unwrap().starts_with("kernel/"), "{}", p.text);
    assert!(p.group(2).unwrap().parse::<u32>().unwrap() > 0);
    assert!(
        !p.group(3).unwrap().trim().is_empty(),
        "panic message missing"
    );
    m.expect_exit(Outcome::KernelFailure, T).unwrap();
}

#[test]
fn deliberate_page_fault_prints_cr2() {
    let mut m = boot("deliberate_page_fault_prints_cr2", "selftest=pagefault");
    m.wait_for(
        r"EXCEPTION #PF \(vector 14\) error=0x[0-9a-f]+ rip=0x[0-9a-f]+",
        T,
    )
    .unwrap();
    m.wait_for(r"(?i)cr2=0x0*deadbeef000\b", T).unwrap();
    m.expect_exit(Outcome::KernelFailure, T).unwrap();
}

#[test]
fn unknown_append_key_is_reported_and_ignored() {
    let mut m = boot(
        "unknown_append_key_is_reported_and_ignored",
        "frobnicate=1 poweroff",
    );
    m.wait_for(r"WARN  cmdline: unknown key 'frobnicate(=1)?' ignored", T)
        .unwrap();
    m.wait_for(r"boot: done in \d+ ms", T).unwrap();
    m.expect_exit(POWEROFF, T).unwrap();
}

/// Boots with `size` of RAM: the memory map QEMU builds for it must not upset the kernel,
/// and the kernel must find about that much.
fn boots_with(name: &str, size: &str) {
    let memory: MemorySize = size.parse().unwrap();
    let config = QemuConfig::writ()
        .unwrap()
        .memory(memory)
        .append("poweroff");
    let mut m = Machine::start(name, &config).unwrap();
    let mem = m.wait_for(r"INFO  mem: .*?(\d+) MiB usable", T).unwrap();
    let usable: u64 = mem.group(1).unwrap().parse().unwrap();
    assert!(
        usable <= memory.mib() && usable + 64 >= memory.mib() * 9 / 10,
        "{size}: kernel found {usable} MiB usable"
    );
    m.wait_for(r"boot: done in \d+ ms", T).unwrap();
    m.expect_exit(POWEROFF, T).unwrap();
    let serial = m.serial();
    assert!(
        !serial.contains("PANIC") && !serial.contains("EXCEPTION"),
        "{serial}"
    );
}

#[test]
fn memory_64m() {
    boots_with("memory_64m", "64M");
}

#[test]
fn memory_128m() {
    boots_with("memory_128m", "128M");
}

#[test]
fn memory_1g() {
    boots_with("memory_1g", "1G");
}

#[test]
fn memory_4g() {
    boots_with("memory_4g", "4G");
}

#[test]
fn a_wait_that_fails_shows_the_serial_tail() {
    let mut m = boot("a_wait_that_fails_shows_the_serial_tail", "poweroff");
    let e = m.wait_for("this never appears", T).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("QEMU exited (exit status 33) before /this never appears/"),
        "{text}"
    );
    assert!(text.contains("boot: done in"), "tail missing: {text}");
    assert!(
        text.contains("qemu-logs/a_wait_that_fails_shows_the_serial_tail.log"),
        "{text}"
    );
    assert!(text.lines().count() <= 40 + 4, "more than the tail: {text}");
}

#[test]
fn a_wait_times_out_while_the_kernel_idles() {
    // No poweroff: after boot the kernel idles until QEMU is stopped.
    let mut m = boot("a_wait_times_out_while_the_kernel_idles", "");
    m.wait_for(r"boot: done in \d+ ms", T).unwrap();
    let e = m.wait_for("never", Duration::from_millis(300)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("timed out after 300ms waiting for /never/"),
        "{e}"
    );
    let e = m.wait_exit(Duration::from_millis(300)).unwrap_err();
    assert!(
        e.to_string().starts_with("QEMU did not exit within 300ms"),
        "{e}"
    );
}
