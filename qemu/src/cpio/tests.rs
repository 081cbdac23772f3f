//! The writer is checked against the reference reader: GNU cpio (installed by
//! scripts/setup.sh) must list and extract exactly what was written.

use super::*;
use std::process::{Command, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-cpio-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn extract(archive: &[u8], into: &Path) -> String {
    use std::io::Write;
    let mut child = Command::new("cpio")
        .args(["-idmu", "--quiet", "--no-absolute-filenames"])
        .current_dir(into)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cpio is installed by scripts/setup.sh");
    child.stdin.take().unwrap().write_all(archive).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cpio failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn header_layout_is_newc() {
    let mut w = CpioWriter::new();
    w.file("a", 0o644, b"xyz").unwrap();
    let bytes = w.finish();
    assert_eq!(&bytes[..6], b"070701");
    let field = |i: usize| {
        let s = std::str::from_utf8(&bytes[6 + 8 * i..6 + 8 * (i + 1)]).unwrap();
        u32::from_str_radix(s, 16).unwrap()
    };
    assert_eq!(field(1), 0o100644, "mode");
    assert_eq!(field(6), 3, "filesize");
    assert_eq!(field(11), 2, "namesize includes the NUL");
    // 110-byte header + "a\0" = 112 (aligned), then data padded to 4.
    assert_eq!(&bytes[110..112], b"a\0");
    assert_eq!(&bytes[112..115], b"xyz");
    assert_eq!(bytes[115], 0);
    assert_eq!(bytes.len() % 4, 0);
    assert!(bytes.windows(10).any(|w| w == b"TRAILER!!!"));
}

#[test]
fn gnu_cpio_extracts_what_was_written() {
    let dir = scratch("extract");
    let mut w = CpioWriter::new();
    w.file("/etc/writ/exec", 0o644, b"echo hello\n").unwrap();
    w.file("bin/tool", 0o755, &[0u8, 1, 2, 3, 4]).unwrap();
    w.dir("empty", 0o700).unwrap();
    w.symlink("bin/alias", "tool").unwrap();
    w.file("odd-name-len.txt", 0o600, b"").unwrap();
    let warnings = extract(&w.finish(), &dir);
    assert!(warnings.is_empty(), "cpio warned: {warnings}");
    assert_eq!(
        fs::read(dir.join("etc/writ/exec")).unwrap(),
        b"echo hello\n"
    );
    assert_eq!(fs::read(dir.join("bin/tool")).unwrap(), [0, 1, 2, 3, 4]);
    let mode = |p: &str| {
        fs::symlink_metadata(dir.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("bin/tool"), 0o755);
    assert_eq!(mode("empty"), 0o700);
    assert_eq!(
        fs::read_link(dir.join("bin/alias")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(fs::read(dir.join("odd-name-len.txt")).unwrap(), b"");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn tree_round_trips_and_is_reproducible() {
    let src = scratch("tree-src");
    fs::create_dir_all(src.join("etc/init.d")).unwrap();
    fs::write(src.join("etc/init.d/rc"), b"#!/bin/sh\necho rc\n").unwrap();
    fs::set_permissions(src.join("etc/init.d/rc"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::write(src.join("top"), vec![7u8; 5000]).unwrap();
    std::os::unix::fs::symlink("etc/init.d/rc", src.join("link")).unwrap();

    let build = || {
        let mut w = CpioWriter::new();
        w.tree(&src).unwrap();
        w.finish()
    };
    let a = build();
    assert_eq!(a, build(), "same tree, same bytes");

    let out = scratch("tree-out");
    extract(&a, &out);
    assert_eq!(
        fs::read(out.join("etc/init.d/rc")).unwrap(),
        b"#!/bin/sh\necho rc\n"
    );
    assert_eq!(
        fs::metadata(out.join("etc/init.d/rc"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o750
    );
    assert_eq!(fs::read(out.join("top")).unwrap(), vec![7u8; 5000]);
    assert_eq!(
        fs::read_link(out.join("link")).unwrap(),
        Path::new("etc/init.d/rc")
    );
    let _ = fs::remove_dir_all(&src);
    let _ = fs::remove_dir_all(&out);
}

#[test]
fn parents_are_written_once_and_before_children() {
    let mut w = CpioWriter::new();
    w.file("a/b/c", 0o644, b"1").unwrap();
    w.file("a/b/d", 0o644, b"2").unwrap();
    w.dir("a", 0o755).unwrap();
    let bytes = w.finish();
    let names: Vec<String> = entry_names(&bytes);
    assert_eq!(names, ["a", "a/b", "a/b/c", "a/b/d", "TRAILER!!!"]);
}

#[test]
fn concatenated_archives_extract_in_order() {
    let dir = scratch("concat");
    let mut base = CpioWriter::new();
    base.file("f", 0o644, b"base").unwrap();
    base.file("keep", 0o644, b"kept").unwrap();
    let base = base.finish();
    let first_len = base.len();
    let mut bytes = base;
    let mut over = CpioWriter::new();
    over.file("f", 0o644, b"overlay").unwrap();
    bytes.extend(std::iter::repeat_n(
        0,
        pad_to_archive_boundary(bytes.len() as u64),
    ));
    bytes.extend(over.finish());
    // GNU cpio stops at the first trailer; read both the way an initramfs unpacker
    // does: one after the other from the aligned offset, later entries winning.
    extract(&bytes[..first_len], &dir);
    extract(&bytes[first_len..], &dir);
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"overlay");
    assert_eq!(fs::read(dir.join("keep")).unwrap(), b"kept");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn rejects_paths_outside_the_root() {
    let mut w = CpioWriter::new();
    assert_eq!(
        w.file("../x", 0o644, b""),
        Err(CpioError::BadPath("../x".into()))
    );
    assert_eq!(
        w.file("a/../../x", 0o644, b""),
        Err(CpioError::BadPath("a/../../x".into()))
    );
    assert_eq!(w.file("", 0o644, b""), Err(CpioError::BadPath("".into())));
    assert_eq!(w.file("/", 0o644, b""), Err(CpioError::BadPath("/".into())));
    assert_eq!(
        w.file("a\0b", 0o644, b""),
        Err(CpioError::BadPath("a\0b".into()))
    );
    assert!(w.symlink("l", "").is_err());
}

#[test]
fn padding_reaches_the_next_multiple_of_four() {
    assert_eq!(pad_to_archive_boundary(0), 0);
    assert_eq!(pad_to_archive_boundary(1), 3);
    assert_eq!(pad_to_archive_boundary(6), 2);
    assert_eq!(pad_to_archive_boundary(8), 0);
}

/// Walks newc headers the way the kernel's unpacker does.
fn entry_names(bytes: &[u8]) -> Vec<String> {
    let hex = |b: &[u8]| u32::from_str_radix(std::str::from_utf8(b).unwrap(), 16).unwrap() as usize;
    let mut names = Vec::new();
    let mut at = 0;
    while at + 110 <= bytes.len() {
        assert_eq!(&bytes[at..at + 6], b"070701");
        let filesize = hex(&bytes[at + 54..at + 62]);
        let namesize = hex(&bytes[at + 94..at + 102]);
        let name = std::str::from_utf8(&bytes[at + 110..at + 110 + namesize - 1]).unwrap();
        names.push(name.to_string());
        at += 110 + namesize;
        at += pad_to_archive_boundary(at as u64);
        at += filesize;
        at += pad_to_archive_boundary(at as u64);
        if name == TRAILER {
            break;
        }
    }
    names
}
