//! Boot time under TCG: wall time from starting QEMU to the kernel's banner on COM1,
//! median of 5 runs (or N: `cargo bench -p writ-qemu --bench boot -- N`). Also shows the
//! kernel's own `boot: done in N ms` and the time until QEMU has exited after `poweroff`.
//! A measurement, not a test: it prints figures and fails only if a boot fails.

use std::process::ExitCode;
use std::time::Duration;

use writ_qemu::{Machine, Outcome, QemuConfig, BANNER};

const T: Duration = Duration::from_secs(60);

struct Sample {
    banner: Duration,
    kernel_ms: u64,
    exited: Duration,
}

fn one(i: usize, config: &QemuConfig) -> Result<Sample, writ_qemu::Error> {
    let mut m = Machine::start(&format!("bench_boot_{i}"), config)?;
    let banner = m.wait_for(BANNER, T)?.at;
    let done = m.wait_for(r"boot: done in (\d+) ms", T)?;
    let kernel_ms = done.group(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    m.expect_exit(Outcome::PowerOff { status: 0 }, T)?;
    Ok(Sample {
        banner,
        kernel_ms,
        exited: m.started().elapsed(),
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let config = match QemuConfig::writ() {
        Ok(c) => c.append("poweroff"),
        Err(e) => {
            eprintln!("boot bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut samples = Vec::new();
    for i in 0..runs {
        match one(i, &config) {
            Ok(s) => {
                println!(
                    "run {}: banner at {:>6.1} ms, kernel boot {:>3} ms, QEMU exited at {:>6.1} ms",
                    i + 1,
                    s.banner.as_secs_f64() * 1e3,
                    s.kernel_ms,
                    s.exited.as_secs_f64() * 1e3
                );
                samples.push(s);
            }
            Err(e) => {
                eprintln!("boot bench: run {}: {e}", i + 1);
                return ExitCode::FAILURE;
            }
        }
    }
    let banner = median(samples.iter().map(|s| s.banner).collect());
    let exited = median(samples.iter().map(|s| s.exited).collect());
    let mut kernel: Vec<u64> = samples.iter().map(|s| s.kernel_ms).collect();
    kernel.sort_unstable();
    println!(
        "boot (TCG, {runs} runs, median): QEMU start -> banner {:.1} ms; kernel boot {} ms; \
         QEMU start -> exit after poweroff {:.1} ms",
        banner.as_secs_f64() * 1e3,
        kernel[kernel.len() / 2],
        exited.as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}
