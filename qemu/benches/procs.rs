//! Process benchmarks, Writ against Linux on the same emulated machine in one run:
//! `procbench` (a static musl program) measures getpid, fork+exit+wait and
//! fork+exec+wait with CLOCK_MONOTONIC inside each guest. Run with
//! `cargo bench -p writ-qemu --bench procs`; it prints each figure and the ratio
//! Writ/Linux (below 1 means Writ is faster).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

fn run(kernel: &str, overlay: &Path) -> BTreeMap<String, f64> {
    let exe = env!("CARGO_BIN_EXE_writ-run");
    let out = Command::new(exe)
        .args(["--kernel", kernel, "--overlay"])
        .arg(overlay)
        .args([
            "--exec",
            "/procbench",
            "--timeout",
            "600",
            "--append",
            "log=off",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("writ-run");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn main() {
    let root = writ_qemu::paths::workspace_root();
    let dir = root.join("target/bench-procs");
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/programs/procbench.c");
    let st = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("procbench"))
        .arg(&src)
        .status()
        .expect("musl-gcc (scripts/setup.sh installs musl-tools)");
    assert!(st.success());
    let writ = run("writ", &dir);
    let linux = run("linux", &dir);
    println!(
        "{:<22} {:>12} {:>12} {:>8}",
        "figure", "writ", "linux", "ratio"
    );
    for (k, w) in &writ {
        let l = linux.get(k).copied().unwrap_or(f64::NAN);
        println!("{:<22} {:>12.0} {:>12.0} {:>8.2}", k, w, l, w / l);
    }
    if writ.is_empty() || linux.is_empty() {
        eprintln!("a run printed no figures: writ {writ:?} linux {linux:?}");
        std::process::exit(1);
    }
}
