//! The initramfs: one or more concatenated cpio "newc" archives in the initrd module
//! (later members replace earlier ones of the same path, as Linux unpacks them).
//! This index over the initrd's memory is what `vfs` builds the tmpfs root from.

use alloc::collections::BTreeMap;
use alloc::string::String;
use spin::Once;

#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device number for device nodes (Linux's encoding of rdevmajor:rdevminor).
    pub rdev: u64,
    pub data: &'static [u8],
}

#[derive(Debug)]
pub enum CpioError {
    BadMagic(usize),
    Truncated(usize),
    BadHex(usize),
}

impl core::fmt::Display for CpioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CpioError::BadMagic(at) => write!(f, "no newc magic at offset {at}"),
            CpioError::Truncated(at) => write!(f, "member at offset {at} runs past the end"),
            CpioError::BadHex(at) => write!(f, "bad header field in member at offset {at}"),
        }
    }
}

pub struct Initramfs {
    pub entries: BTreeMap<String, Entry>,
    pub archives: usize,
}

static INITRAMFS: Once<Initramfs> = Once::new();

fn hex(field: &[u8], at: usize) -> Result<u32, CpioError> {
    let s = core::str::from_utf8(field).map_err(|_| CpioError::BadHex(at))?;
    u32::from_str_radix(s, 16).map_err(|_| CpioError::BadHex(at))
}

/// Parses every archive in `image`; stops quietly at trailing zero padding.
pub fn parse(image: &'static [u8]) -> Result<Initramfs, CpioError> {
    let mut entries = BTreeMap::new();
    let mut archives = 0;
    let mut pos = 0usize;
    let mut in_archive = false;
    loop {
        // Archives are padded with zeros (to 4 bytes, often to 512): skip to the next.
        while pos < image.len() && image[pos] == 0 {
            pos += 1;
        }
        if pos >= image.len() {
            break;
        }
        pos &= !3;
        let head = image.get(pos..pos + 110).ok_or(CpioError::Truncated(pos))?;
        if &head[0..6] != b"070701" && &head[0..6] != b"070702" {
            return Err(CpioError::BadMagic(pos));
        }
        if !in_archive {
            archives += 1;
            in_archive = true;
        }
        let field = |i: usize| hex(&head[6 + 8 * i..14 + 8 * i], pos);
        let mode = field(1)?;
        let uid = field(2)?;
        let gid = field(3)?;
        let filesize = field(6)? as usize;
        let namesize = field(11)? as usize;
        let rdev = linux_personality::fs::makedev(field(9)?, field(10)?);
        let name_start = pos + 110;
        let name = image
            .get(name_start..name_start + namesize)
            .ok_or(CpioError::Truncated(pos))?;
        let name = name.strip_suffix(&[0]).unwrap_or(name);
        let data_start = (name_start + namesize).next_multiple_of(4);
        let data = image
            .get(data_start..data_start + filesize)
            .ok_or(CpioError::Truncated(pos))?;
        pos = (data_start + filesize).next_multiple_of(4);
        if name == b"TRAILER!!!" {
            in_archive = false;
            continue;
        }
        let name = String::from_utf8_lossy(name);
        let path = normalize(&name);
        entries.insert(
            path,
            Entry {
                mode,
                uid,
                gid,
                rdev,
                data,
            },
        );
    }
    Ok(Initramfs { entries, archives })
}

/// "./etc/x", "etc/x" and "/etc/x" all name "/etc/x".
fn normalize(name: &str) -> String {
    let trimmed = name.trim_start_matches("./").trim_start_matches('/');
    let mut p = String::from("/");
    p.push_str(trimmed.trim_end_matches('/'));
    if p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    p
}

pub fn init(initrd: Option<(u64, u64)>) {
    let Some((start, len)) = initrd else {
        log::info!("initrd: none");
        INITRAMFS.call_once(|| Initramfs {
            entries: BTreeMap::new(),
            archives: 0,
        });
        return;
    };
    // SAFETY: the initrd module's frames are reserved by the frame allocator for the
    // kernel's lifetime and covered by the direct map.
    let image: &'static [u8] = unsafe {
        core::slice::from_raw_parts(crate::mm::phys_to_virt(start) as *const u8, len as usize)
    };
    let fs = match parse(image) {
        Ok(fs) => fs,
        Err(e) => {
            log::warn!(
                "initrd: {len} bytes at {start:#x} are not a cpio newc archive ({e}); ignored"
            );
            Initramfs {
                entries: BTreeMap::new(),
                archives: 0,
            }
        }
    };
    log::info!(
        "initrd: {} KiB at {:#x}, {} cpio archive(s), {} entries",
        len / 1024,
        start,
        fs.archives,
        fs.entries.len()
    );
    INITRAMFS.call_once(|| fs);
}

/// Every entry, parents before children (paths sort that way).
pub fn entries() -> impl Iterator<Item = (&'static str, Entry)> {
    INITRAMFS
        .get()
        .into_iter()
        .flat_map(|fs| fs.entries.iter().map(|(p, e)| (p.as_str(), *e)))
}
