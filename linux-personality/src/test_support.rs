//! Test helpers: compiling small C programs with `musl-gcc -static` when it is
//! installed (the set-up script installs it; a machine without it skips those checks).

use std::path::PathBuf;
use std::process::Command;
use std::string::String;
use std::vec::Vec;

/// True when `musl-gcc` can be run.
pub fn have_musl_gcc() -> bool {
    Command::new("musl-gcc")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(std::format!(
        "linux-personality-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Compiles `source` with `musl-gcc -static` (or `-static-pie` if given) plus `extra_flags` and returns the path
/// of the executable, or `None` when musl-gcc is missing. A compile error panics: the
/// test's own C is wrong.
pub fn compile_c(name: &str, source: &str, extra_flags: &[&str]) -> Option<PathBuf> {
    if !have_musl_gcc() {
        return None;
    }
    let dir = scratch_dir(name);
    let src = dir.join("prog.c");
    let exe = dir.join("prog");
    std::fs::write(&src, source).expect("write C source");
    // `-static` would override `-static-pie`.
    let link_mode: &[&str] = if extra_flags.contains(&"-static-pie") {
        &[]
    } else {
        &["-static"]
    };
    let out = Command::new("musl-gcc")
        .args(link_mode)
        .args(extra_flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run musl-gcc");
    assert!(
        out.status.success(),
        "musl-gcc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(exe)
}

/// Compiles and runs `source`; returns its standard output.
pub fn compile_and_run_c(name: &str, source: &str) -> Option<String> {
    let exe = compile_c(name, source, &[])?;
    let out = Command::new(&exe).output().expect("run compiled program");
    assert!(out.status.success(), "{name} exited with {}", out.status);
    Some(String::from_utf8(out.stdout).expect("C output is UTF-8"))
}

/// The bytes of a static (or, with `-static-pie`, static-PIE) musl executable.
pub fn musl_executable(name: &str, flags: &[&str]) -> Option<Vec<u8>> {
    let exe = compile_c(
        name,
        "#include <stdio.h>\nint main(int c, char **v) { printf(\"%d %s\\n\", c, v[0]); return 0; }\n",
        flags,
    )?;
    Some(std::fs::read(exe).expect("read compiled executable"))
}
