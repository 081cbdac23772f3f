//! Host tests without network: the debugfs output parsers, partition finding, the tree
//! edits, the archive's bytes (read back with a small newc reader), the cache key, and
//! the whole pipeline on an ext4 image made with `mke2fs -d`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::image::{ext_offset, parse_ls_p, parse_stat_devices, Inode};
use super::pack::{Kind, Node, Tree};
use super::*;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = private_name(&std::env::temp_dir().join(format!("writ-rootfs-test-{tag}")));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// One entry read back from a newc archive.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    mode: u32,
    uid: u32,
    gid: u32,
    rdev: (u32, u32),
    data: Vec<u8>,
}

/// Parses a newc archive up to its trailer, checking magic and 4-byte alignment.
fn read_newc(mut b: &[u8]) -> Vec<Entry> {
    let total = b.len();
    let mut out = Vec::new();
    loop {
        assert_eq!((total - b.len()) % 4, 0, "header not 4-byte aligned");
        assert_eq!(&b[..6], b"070701");
        let field = |i: usize| {
            u32::from_str_radix(std::str::from_utf8(&b[6 + 8 * i..14 + 8 * i]).unwrap(), 16)
                .unwrap()
        };
        let (mode, uid, gid, size) = (field(1), field(2), field(3), field(6) as usize);
        let rdev = (field(9), field(10));
        let namesize = field(11) as usize;
        let name = std::str::from_utf8(&b[110..110 + namesize - 1])
            .unwrap()
            .to_string();
        let data_at = (110 + namesize).div_ceil(4) * 4;
        let data = b[data_at..data_at + size].to_vec();
        b = &b[(data_at + size).div_ceil(4) * 4..];
        if name == "TRAILER!!!" {
            assert!(b.is_empty(), "bytes after the trailer");
            return out;
        }
        out.push(Entry {
            name,
            mode,
            uid,
            gid,
            rdev,
            data,
        });
    }
}

fn by_name(entries: &[Entry]) -> BTreeMap<&str, &Entry> {
    entries.iter().map(|e| (e.name.as_str(), e)).collect()
}

#[test]
fn ls_p_output_becomes_relative_paths_with_inodes() {
    let out = "debugfs 1.47.0 (5-Feb-2023)\n\
        debugfs: ls -p \"/\"\n\
        /2/040755/0/0/.//\n\
        /2/040755/0/0/..//\n\
        /12/040755/0/0/etc//\n\
        /13/100640/0/42/shadow-copy/319/\n\
        debugfs: ls -p \"/etc\"\n\
        /12/040755/0/0/.//\n\
        /14/104755/0/0/sudo/1234/\n\
        /15/020600/0/5/console/0/\n";
    let got = parse_ls_p(out).unwrap();
    let dir = |mode| Inode {
        mode,
        uid: 0,
        gid: 0,
        size: 0,
    };
    assert_eq!(
        got,
        vec![
            ("etc".to_string(), dir(0o40755)),
            (
                "shadow-copy".to_string(),
                Inode {
                    mode: 0o100640,
                    uid: 0,
                    gid: 42,
                    size: 319
                }
            ),
            (
                "etc/sudo".to_string(),
                Inode {
                    mode: 0o104755,
                    uid: 0,
                    gid: 0,
                    size: 1234
                }
            ),
            (
                "etc/console".to_string(),
                Inode {
                    mode: 0o20600,
                    uid: 0,
                    gid: 5,
                    size: 0
                }
            ),
        ]
    );
    assert!(matches!(
        parse_ls_p("debugfs: ls -p \"/\"\n/1/zz/0/0/x/0/\n"),
        Err(RootfsError::BadListing(_))
    ));
    // An entry before any directory echo has no parent to go under.
    assert!(parse_ls_p("/1/0100644/0/0/x/0/\n").is_err());
}

#[test]
fn stat_output_gives_device_numbers() {
    let out = "debugfs: stat \"/dev/console\"\n\
        Inode: 15   Type: character special    Mode:  0600   Flags: 0x0\n\
        Device major/minor number: 05:01 (hex 05:01)\n\
        debugfs: stat \"/dev/sda\"\n\
        Device major/minor number: 08:00 (hex 08:00)\n\
        debugfs: stat \"/dev/null\"\n\
        Device major/minor number: 01:03 (hex 01:03)\n";
    let got = parse_stat_devices(out).unwrap();
    assert_eq!(got.get("dev/console"), Some(&(5, 1)));
    assert_eq!(got.get("dev/sda"), Some(&(8, 0)));
    assert_eq!(got.get("dev/null"), Some(&(1, 3)));
    assert_eq!(got.len(), 3);
}

fn ext_image_at(offset: usize, len: usize) -> Vec<u8> {
    let mut img = vec![0u8; len];
    img[offset + 1080] = 0x53;
    img[offset + 1081] = 0xEF;
    img
}

#[test]
fn the_ext_filesystem_is_found_on_a_bare_disk_and_in_partitions() {
    assert_eq!(
        ext_offset(&mut Cursor::new(ext_image_at(0, 4096))).unwrap(),
        0
    );

    // MBR: a Linux partition at LBA 2048.
    let mut mbr = ext_image_at(2048 * 512, 2048 * 512 + 4096);
    mbr[446 + 4] = 0x83;
    mbr[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    assert_eq!(ext_offset(&mut Cursor::new(mbr)).unwrap(), 2048 * 512);

    // GPT: protective MBR, header at LBA 1, entries at LBA 2, the second one in use.
    let mut gpt = ext_image_at(4096 * 512, 4096 * 512 + 4096);
    gpt[446 + 4] = 0xEE;
    gpt[446 + 8] = 1;
    gpt[510] = 0x55;
    gpt[511] = 0xAA;
    gpt[512..520].copy_from_slice(b"EFI PART");
    gpt[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    gpt[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
    gpt[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    let e1 = 1024 + 128;
    gpt[e1] = 0xAF; // a non-zero type GUID
    gpt[e1 + 32..e1 + 40].copy_from_slice(&4096u64.to_le_bytes());
    assert_eq!(ext_offset(&mut Cursor::new(gpt)).unwrap(), 4096 * 512);

    assert!(matches!(
        ext_offset(&mut Cursor::new(vec![0u8; 8192])),
        Err(RootfsError::NoExtFilesystem)
    ));
}

/// A small image-like tree on disk and its listing, as debugfs would report it.
fn sample(dir: &Path) -> (BTreeMap<String, Inode>, BTreeMap<String, (u32, u32)>) {
    for d in ["bin", "dev", "etc", "lib/modules/6.18", "boot", "tmp"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::write(dir.join("bin/busybox"), b"\x7fELF busybox").unwrap();
    symlink("/bin/busybox", dir.join("bin/sh")).unwrap();
    fs::write(dir.join("dev/console"), b"").unwrap();
    fs::write(dir.join("etc/shadow"), b"root:*::0:::::\n").unwrap();
    fs::write(dir.join("lib/modules/6.18/x.ko"), b"module").unwrap();
    fs::write(dir.join("boot/vmlinuz"), b"kernel").unwrap();
    let i = |mode, uid, gid, size| Inode {
        mode,
        uid,
        gid,
        size,
    };
    let listing: BTreeMap<String, Inode> = [
        ("bin", i(0o40755, 0, 0, 0)),
        ("bin/busybox", i(0o104755, 0, 0, 12)),
        ("bin/sh", i(0o120777, 0, 0, 12)),
        ("boot", i(0o40755, 0, 0, 0)),
        ("boot/vmlinuz", i(0o100644, 0, 0, 6)),
        ("dev", i(0o40755, 0, 0, 0)),
        ("dev/console", i(0o100755, 0, 0, 0)),
        ("dev/null", i(0o20666, 0, 0, 0)),
        ("etc", i(0o40755, 0, 0, 0)),
        ("etc/shadow", i(0o100640, 0, 42, 15)),
        ("lib", i(0o40755, 0, 0, 0)),
        ("lib/modules", i(0o40755, 0, 0, 0)),
        ("lib/modules/6.18", i(0o40755, 0, 0, 0)),
        ("lib/modules/6.18/x.ko", i(0o100644, 0, 0, 6)),
        ("tmp", i(0o41777, 0, 0, 0)),
        ("run", i(0o10644, 0, 0, 0)), // a FIFO: left out
    ]
    .into_iter()
    .map(|(p, i)| (p.to_string(), i))
    .collect();
    let devices = [("dev/null".to_string(), (1, 3))].into_iter().collect();
    (listing, devices)
}

#[test]
fn the_archive_keeps_owners_setid_bits_links_and_devices_and_fixes_the_console() {
    let t = TempDir::new("pack");
    let (listing, devices) = sample(&t.0);
    let mut tree = Tree::from_listing(&listing, &t.0, &devices).unwrap();
    for p in DROPPED {
        tree.remove(p);
    }
    tree.fix_console();
    let mut bytes = Vec::new();
    let len = tree.write_newc(&mut bytes).unwrap();
    assert_eq!(len, bytes.len() as u64);
    let entries = read_newc(&bytes);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bin",
            "bin/busybox",
            "bin/sh",
            "dev",
            "dev/console",
            "dev/null",
            "etc",
            "etc/shadow",
            "lib",
            "tmp"
        ]
    );
    let e = by_name(&entries);
    assert_eq!(e["bin/busybox"].mode, 0o104755);
    assert_eq!(e["bin/busybox"].data, b"\x7fELF busybox");
    assert_eq!(e["bin/sh"].mode, 0o120777);
    assert_eq!(e["bin/sh"].data, b"/bin/busybox");
    assert_eq!(e["dev/console"].mode, 0o020600);
    assert_eq!(e["dev/console"].rdev, (5, 1));
    assert!(e["dev/console"].data.is_empty());
    assert_eq!(e["dev/null"].mode, 0o020666);
    assert_eq!(e["dev/null"].rdev, (1, 3));
    assert_eq!((e["etc/shadow"].uid, e["etc/shadow"].gid), (0, 42));
    assert_eq!(e["etc/shadow"].mode, 0o100640);
    assert_eq!(e["tmp"].mode, 0o041777);

    // Same inputs, same bytes.
    let mut again = Vec::new();
    tree.write_newc(&mut again).unwrap();
    assert_eq!(bytes, again);
}

#[test]
fn a_file_the_dump_lacks_or_got_wrong_is_an_error() {
    let t = TempDir::new("mismatch");
    let (listing, devices) = sample(&t.0);
    let mut wrong = listing.clone();
    wrong.get_mut("etc/shadow").unwrap().size = 16;
    assert!(matches!(
        Tree::from_listing(&wrong, &t.0, &devices),
        Err(RootfsError::DumpMismatch { path }) if path == "etc/shadow"
    ));
    assert!(matches!(
        Tree::from_listing(&listing, &t.0, &BTreeMap::new()),
        Err(RootfsError::DumpMismatch { path }) if path == "dev/null"
    ));
}

#[test]
fn the_overlay_replaces_files_and_keeps_image_directories() {
    let t = TempDir::new("overlay");
    let (listing, devices) = sample(&t.0);
    let mut tree = Tree::from_listing(&listing, &t.0, &devices).unwrap();
    let ov = t.0.join("ov");
    fs::create_dir_all(ov.join("etc")).unwrap();
    fs::write(ov.join("etc/inittab"), b"::respawn:/bin/sh\n").unwrap();
    fs::write(ov.join("etc/shadow"), b"new\n").unwrap();
    fs::set_permissions(ov.join("etc/shadow"), fs::Permissions::from_mode(0o664)).unwrap();
    fs::write(ov.join("run-me"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(ov.join("run-me"), fs::Permissions::from_mode(0o775)).unwrap();
    symlink("/sbin/init", ov.join("init")).unwrap();
    // A file over an image directory replaces it and its contents.
    fs::write(ov.join("lib"), b"").unwrap();
    tree.merge_overlay(&ov).unwrap();

    let n = &tree.nodes;
    assert_eq!(n["etc"].perm, 0o755);
    let shadow = &n["etc/shadow"];
    assert_eq!((shadow.perm, shadow.uid, shadow.gid), (0o644, 0, 0));
    assert_eq!(n["run-me"].perm, 0o755);
    assert_eq!(
        n["init"].kind,
        Kind::Symlink {
            target: "/sbin/init".into()
        }
    );
    assert!(matches!(n["lib"].kind, Kind::File { .. }));
    assert!(!n.keys().any(|k| k.starts_with("lib/")));
    assert!(n.contains_key("etc/inittab"));
}

#[test]
fn removing_takes_a_directory_with_its_contents_but_not_its_namesakes() {
    let node = |kind| Node {
        kind,
        perm: 0o755,
        uid: 0,
        gid: 0,
    };
    let mut tree = Tree::default();
    for p in [
        "boot",
        "boot/x",
        "bootstrap",
        "lib",
        "lib/modules",
        "lib/modules/a",
    ] {
        tree.nodes.insert(p.into(), node(Kind::Dir));
    }
    assert!(tree.remove("/boot/"));
    assert!(tree.remove("lib/modules"));
    assert!(!tree.remove("lib/firmware"));
    let left: Vec<&str> = tree.nodes.keys().map(String::as_str).collect();
    assert_eq!(left, ["bootstrap", "lib"]);
}

fn overlay_in(dir: &Path) -> Overlay {
    fs::create_dir_all(dir.join("files/etc")).unwrap();
    fs::write(dir.join("files/etc/inittab"), b"a\n").unwrap();
    fs::write(
        dir.join("remove.list"),
        b"# comment\n/usr/local/bin/agent/\n\n",
    )
    .unwrap();
    fs::write(dir.join("README.md"), b"docs").unwrap();
    Overlay::load(dir).unwrap()
}

#[test]
fn the_cache_key_follows_the_wheel_and_the_overlay_contents_only() {
    let t = TempDir::new("key");
    let ov = overlay_in(&t.0);
    assert_eq!(ov.remove_list(), ["usr/local/bin/agent"]);
    let h0 = ov.content_hash().unwrap();
    let k0 = cache_key(WHEEL_SHA256, &h0);
    assert_eq!(k0.len(), 16);
    assert_eq!(k0, cache_key(WHEEL_SHA256, &ov.content_hash().unwrap()));
    assert_ne!(k0, cache_key(&"0".repeat(64), &h0));

    fs::write(t.0.join("README.md"), b"other docs").unwrap();
    assert_eq!(Overlay::load(&t.0).unwrap().content_hash().unwrap(), h0);

    let changed = |t: &TempDir| Overlay::load(&t.0).unwrap().content_hash().unwrap();
    fs::write(t.0.join("files/etc/inittab"), b"b\n").unwrap();
    let h1 = changed(&t);
    assert_ne!(h1, h0);
    fs::set_permissions(
        t.0.join("files/etc/inittab"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let h2 = changed(&t);
    assert_ne!(h2, h1);
    fs::write(t.0.join("remove.list"), b"usr/local/bin/agent\netc/x\n").unwrap();
    assert_ne!(changed(&t), h2);
    assert_eq!(
        archive_path(Path::new("/c"), &k0),
        Path::new(&format!("/c/rootfs-{k0}.cpio"))
    );
}

#[test]
fn a_directory_without_files_is_not_an_overlay() {
    let t = TempDir::new("noov");
    assert!(matches!(
        Overlay::load(&t.0),
        Err(RootfsError::NoOverlay(_))
    ));
}

#[test]
fn the_repository_overlay_gives_a_console_shell_and_an_empty_rc_sys() {
    let ov = Overlay::load(&Overlay::default_dir()).unwrap();
    let files = ov.files();
    let inittab = fs::read_to_string(files.join("etc/inittab")).unwrap();
    assert!(inittab
        .lines()
        .any(|l| l.starts_with("console::respawn:") && l.ends_with("/bin/sh")));
    let rc = fs::read_to_string(files.join("etc/rc.conf")).unwrap();
    assert!(rc.lines().any(|l| l == "rc_sys=\"\""));
    assert_eq!(
        fs::read_link(files.join("init")).unwrap(),
        Path::new("/sbin/init")
    );
    assert!(ov
        .remove_list()
        .iter()
        .any(|p| p == "etc/runlevels/boot/quicksand-guest-agent"));
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-V").output().is_ok()
}

/// The whole pipeline (qemu-img, offset, rdump, listing, edits, archive) on an ext4
/// image made from a directory with `mke2fs -d`, placed after an MBR at LBA 2048.
#[test]
fn an_ext4_image_in_a_partition_becomes_the_expected_archive() {
    if !(have("mke2fs") && have("debugfs") && have("qemu-img")) {
        eprintln!("skipped: needs mke2fs, debugfs and qemu-img");
        return;
    }
    let t = TempDir::new("e2e");
    let src = t.0.join("src");
    for d in [
        "bin",
        "dev",
        "lib/modules/6.18",
        "boot",
        "etc/sudoers.d",
        "tmp",
    ] {
        fs::create_dir_all(src.join(d)).unwrap();
    }
    fs::write(src.join("bin/busybox"), vec![0xAB; 100_000]).unwrap();
    fs::set_permissions(src.join("bin/busybox"), fs::Permissions::from_mode(0o4755)).unwrap();
    symlink("/bin/busybox", src.join("bin/sh")).unwrap();
    fs::write(src.join("dev/console"), b"").unwrap();
    fs::write(src.join("lib/modules/6.18/x.ko"), b"m").unwrap();
    fs::write(src.join("etc/sudoers.d/agent"), b"x").unwrap();
    fs::set_permissions(src.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();

    let fs_img = t.0.join("fs.img");
    let out = Command::new("mke2fs")
        .args(["-q", "-t", "ext4", "-F", "-d"])
        .arg(&src)
        .arg(&fs_img)
        .arg("4M")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut disk = vec![0u8; 2048 * 512];
    disk[446 + 4] = 0x83;
    disk[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk.extend(fs::read(&fs_img).unwrap());
    let disk_img = t.0.join("disk.img");
    fs::write(&disk_img, disk).unwrap();

    let ovdir = t.0.join("overlay");
    fs::create_dir_all(ovdir.join("files/etc")).unwrap();
    fs::write(
        ovdir.join("files/etc/inittab"),
        b"console::respawn:-/bin/sh\n",
    )
    .unwrap();
    fs::write(ovdir.join("remove.list"), b"etc/sudoers.d/agent\n").unwrap();
    let overlay = Overlay::load(&ovdir).unwrap();

    let dest = t.0.join("rootfs.cpio");
    let len = build_archive(&disk_img, &overlay, &t.0.join("work"), &dest).unwrap();
    let bytes = fs::read(&dest).unwrap();
    assert_eq!(len, bytes.len() as u64);
    let entries = read_newc(&bytes);
    let e = by_name(&entries);
    assert_eq!(e["bin/busybox"].data, vec![0xAB; 100_000]);
    assert_eq!(e["bin/busybox"].mode, 0o104755);
    assert_eq!(e["bin/sh"].data, b"/bin/busybox");
    assert_eq!(
        (e["dev/console"].mode, e["dev/console"].rdev),
        (0o020600, (5, 1))
    );
    assert_eq!(e["tmp"].mode, 0o041777);
    assert_eq!(e["etc/inittab"].data, b"console::respawn:-/bin/sh\n");
    assert!(e.contains_key("etc/sudoers.d"));
    for gone in ["boot", "lib/modules", "etc/sudoers.d/agent", "lost+found/x"] {
        assert!(!e.contains_key(gone), "{gone} is still there");
    }
    assert!(e.contains_key("lost+found"));
    assert!(e.contains_key("lib"));
}

#[test]
fn only_the_linux_network_modules_and_their_directories_are_kept() {
    let v = "lib/modules/6.18.56-0-virt";
    for kept in [
        "lib/modules".to_string(),
        v.to_string(),
        format!("{v}/modules.dep"),
        format!("{v}/modules.alias.bin"),
        format!("{v}/kernel"),
        format!("{v}/kernel/drivers"),
        format!("{v}/kernel/drivers/net"),
        format!("{v}/kernel/drivers/net/virtio_net.ko.gz"),
        format!("{v}/kernel/drivers/net/net_failover.ko.gz"),
        format!("{v}/kernel/net"),
        format!("{v}/kernel/net/core/failover.ko.gz"),
        format!("{v}/kernel/net/packet/af_packet.ko.zst"),
    ] {
        assert!(module_kept(&kept), "{kept} should be kept");
    }
    for dropped in [
        format!("{v}/kernel/fs"),
        format!("{v}/kernel/fs/ext4/ext4.ko.gz"),
        format!("{v}/kernel/drivers/block"),
        format!("{v}/kernel/drivers/net/virtio_net_extra.ko.gz"),
        format!("{v}/kernel/drivers/net/wireguard/wireguard.ko.gz"),
        format!("{v}/build"),
        "lib/firmware".to_string(),
    ] {
        assert!(!module_kept(&dropped), "{dropped} should be dropped");
    }
}
