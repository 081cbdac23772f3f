//! ELF64 x86_64 executables: validation and the description of what `execve` maps.
//!
//! [`parse`] reads an executable from its bytes and checks everything the loader will
//! rely on (magic, class, byte order, machine, type, program-header size and count,
//! every range inside the file, no arithmetic overflow, `memsz >= filesz`, segments
//! congruent modulo the page size, the interpreter path NUL-terminated). It returns an
//! [`ElfImage`]: the kind of program, its entry, the `PT_LOAD` segments and the values
//! the auxiliary vector needs. It never panics and never indexes out of bounds: every
//! read goes through a checked accessor.
//!
//! [`load_bias`] is the placement policy: where an `ET_DYN` program or an interpreter
//! goes (Linux's addresses without randomisation), and 0 for `ET_EXEC`.

use crate::abi::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Page size the loader maps with.
pub const PAGE_SIZE: u64 = 4096;
/// Size of one ELF64 program header; anything else is rejected.
pub const PHENT_SIZE: u16 = 56;
/// Size of the ELF64 file header.
pub const EHDR_SIZE: usize = 64;
/// First address above user space (Linux x86_64 `TASK_SIZE_MAX`, 4-level paging).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Linux refuses program-header tables over 64 KiB (`ELF_MIN_ALIGN`-independent limit
/// in `load_elf_phdrs`).
pub const MAX_PHDR_TABLE: usize = 65536;
/// Longest interpreter path accepted, NUL included (`PATH_MAX`).
pub const MAX_INTERP_LEN: usize = 4096;

/// Where an `ET_DYN` main program is placed: Linux's `ELF_ET_DYN_BASE`
/// (2/3 of the 47-bit space, page aligned) without randomisation.
pub const ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Where the interpreter is placed: just below where Linux's top-down mmap area starts
/// without randomisation, leaving room for the stack above it.
pub const INTERP_BASE: u64 = 0x7fff_f7a0_0000;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// Why an image was refused. [`ElfError::errno`] gives what `execve` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than an ELF header, or a header field points past the end of the file.
    Truncated,
    /// Not `\x7fELF`.
    BadMagic,
    /// Not ELFCLASS64.
    NotElf64,
    /// Not little-endian.
    NotLittleEndian,
    /// `EI_VERSION` / `e_version` is not 1.
    BadVersion,
    /// `e_machine` is not x86_64.
    WrongMachine,
    /// Neither `ET_EXEC` nor `ET_DYN` (e.g. a relocatable object or a core file).
    NotExecutable,
    /// `e_phentsize` is not 56, or `e_phnum` is 0 or the table exceeds 64 KiB.
    BadProgramHeaders,
    /// A segment's file range lies outside the file.
    SegmentOutOfFile,
    /// A segment's address range wraps or leaves user space.
    SegmentOutOfRange,
    /// `p_filesz > p_memsz`.
    FileszExceedsMemsz,
    /// `p_vaddr` and `p_offset` differ modulo the page size, so it cannot be mapped.
    Misaligned,
    /// `PT_LOAD` segments are not in ascending address order (the ELF spec requires it
    /// and the loader's span computation relies on it).
    UnorderedSegments,
    /// No `PT_LOAD` segment.
    NoLoadSegments,
    /// More than one `PT_INTERP`, or its `p_filesz` is under 2 or over `PATH_MAX`, or
    /// its last byte is not NUL, or the path is not UTF-8.
    BadInterpreter,
}

impl ElfError {
    /// The errno `execve` reports, as Linux does: a file that is not a loadable
    /// x86_64 ELF is ENOEXEC; segments that cannot be placed in the address space are
    /// EINVAL (what `vm_mmap` reports for them).
    pub fn errno(self) -> Errno {
        match self {
            ElfError::SegmentOutOfRange | ElfError::FileszExceedsMemsz => Errno::EINVAL,
            _ => Errno::ENOEXEC,
        }
    }
}

impl From<ElfError> for Errno {
    fn from(e: ElfError) -> Errno {
        e.errno()
    }
}

/// What kind of program an image is, which decides how `execve` starts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC` without an interpreter: mapped at its link addresses, entered directly.
    Static,
    /// `ET_DYN` without an interpreter (`-static-pie`): placed at a base, relocates
    /// itself, entered directly. A dynamic loader (`ld-musl-x86_64.so.1`) parses as
    /// this too; [`LoadRole::Interpreter`] is what places it differently.
    StaticPie,
    /// Has a `PT_INTERP`: the interpreter at `interp` is loaded too and entered first.
    Dynamic {
        /// The interpreter's path, without the NUL.
        interp: String,
    },
}

/// Segment permissions (`p_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentFlags {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// One `PT_LOAD` segment: map `filesz` bytes of the file at `file_offset` to `vaddr`
/// (plus the load bias) and zero the rest up to `memsz`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    pub vaddr: u64,
    pub memsz: u64,
    pub file_offset: u64,
    pub filesz: u64,
    pub flags: SegmentFlags,
}

impl LoadSegment {
    /// First page-aligned address the segment touches (before the bias).
    pub fn page_start(&self) -> u64 {
        self.vaddr & !(PAGE_SIZE - 1)
    }

    /// End of the last page the segment touches (before the bias). Cannot overflow:
    /// [`parse`] checked `vaddr + memsz` is below [`USER_END`].
    pub fn page_end(&self) -> u64 {
        (self.vaddr + self.memsz + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
    }
}

/// How the kernel maps one segment at a given bias: what comes from the file, what
/// must be zeroed, what is anonymous. Linux's `elf_load` does the same split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentMapping {
    /// Page-aligned first address of the segment.
    pub start: u64,
    /// Page-aligned end of the file-backed pages: `[start, file_end)` is the file from
    /// `file_page_offset` (bytes past the end of the file read as zero).
    pub file_end: u64,
    /// Page-aligned file offset mapped at `start`.
    pub file_page_offset: u64,
    /// `[zero_start, file_end)` lies past `filesz` inside the last file page and must
    /// be zeroed (the start of `.bss`); empty when the file part ends on a page boundary.
    pub zero_start: u64,
    /// Page-aligned end of the segment: `[file_end, end)` is anonymous zero memory.
    pub end: u64,
    pub flags: SegmentFlags,
}

impl LoadSegment {
    /// The mapping of this segment shifted by `bias`; `SegmentOutOfRange` if that
    /// leaves user space.
    pub fn mapping(&self, bias: u64) -> Result<SegmentMapping, ElfError> {
        let vaddr = self
            .vaddr
            .checked_add(bias)
            .ok_or(ElfError::SegmentOutOfRange)?;
        let mem_end = vaddr
            .checked_add(self.memsz)
            .filter(|&e| e <= USER_END)
            .ok_or(ElfError::SegmentOutOfRange)?;
        // Below USER_END, so rounding up cannot overflow.
        let page_up = |a: u64| (a + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let start = vaddr & !(PAGE_SIZE - 1);
        let (file_end, zero_start) = if self.filesz == 0 {
            (start, start)
        } else {
            let file_bytes_end = vaddr + self.filesz;
            (page_up(file_bytes_end), file_bytes_end)
        };
        Ok(SegmentMapping {
            start,
            file_end,
            file_page_offset: self.file_offset & !(PAGE_SIZE - 1),
            zero_start,
            end: page_up(mem_end).max(file_end),
            flags: self.flags,
        })
    }
}

/// A validated executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    pub kind: ElfKind,
    /// `e_type == ET_DYN` (position independent: needs a load bias).
    pub pie: bool,
    /// `e_entry`, before the load bias.
    pub entry: u64,
    /// Address of the program headers once loaded (before the bias), for `AT_PHDR`:
    /// computed from the `PT_LOAD` that maps `e_phoff` (as Linux does), else the
    /// `PT_PHDR` value. `None` when neither exists.
    pub phdr_vaddr: Option<u64>,
    /// `e_phnum`, for `AT_PHNUM`.
    pub phnum: u16,
    /// `e_phentsize` (always 56), for `AT_PHENT`.
    pub phentsize: u16,
    /// The `PT_LOAD` segments in ascending address order.
    pub segments: Vec<LoadSegment>,
    /// Largest power-of-two `p_align` of the load segments (at least the page size);
    /// an `ET_DYN` base must be aligned to it.
    pub max_align: u64,
    /// `PT_GNU_STACK` asks for an executable stack.
    pub exec_stack: bool,
}

impl ElfImage {
    /// Page-aligned `[start, end)` the segments cover, before the bias.
    pub fn span(&self) -> (u64, u64) {
        let start = self.segments.first().map_or(0, LoadSegment::page_start);
        let end = self
            .segments
            .iter()
            .map(LoadSegment::page_end)
            .max()
            .unwrap_or(0);
        (start, end)
    }

    /// Checks the image still lies in user space once shifted by `bias`, and returns
    /// the biased page-aligned span (the initial program break goes at its end).
    pub fn biased_span(&self, bias: u64) -> Result<(u64, u64), ElfError> {
        let (start, end) = self.span();
        let start = start.checked_add(bias).ok_or(ElfError::SegmentOutOfRange)?;
        let end = end.checked_add(bias).ok_or(ElfError::SegmentOutOfRange)?;
        if end > USER_END || start < PAGE_SIZE {
            return Err(ElfError::SegmentOutOfRange);
        }
        Ok((start, end))
    }
}

/// The role of an image in one `execve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadRole {
    /// The program named by `execve`.
    Main,
    /// The `PT_INTERP` of the main program (e.g. `/lib/ld-musl-x86_64.so.1`).
    Interpreter,
}

/// The placement policy: the amount added to every address in `image`.
///
/// `ET_EXEC` is linked at absolute addresses: 0. An `ET_DYN` main program (dynamic PIE
/// or static-pie) goes at [`ET_DYN_BASE`], an interpreter at [`INTERP_BASE`], each
/// shifted so the lowest segment lands on the base and rounded up to the image's
/// largest segment alignment. Deterministic: Writ does not randomise layouts yet.
pub fn load_bias(image: &ElfImage, role: LoadRole) -> u64 {
    if !image.pie {
        return 0;
    }
    let base = match role {
        LoadRole::Main => ET_DYN_BASE,
        LoadRole::Interpreter => INTERP_BASE,
    };
    let (start, _) = image.span();
    // `start` is below USER_END and `max_align` a power of two no larger than 2^47
    // (checked in `parse`), so none of this can overflow.
    let align = image.max_align;
    let biased = base.saturating_sub(start);
    biased.saturating_add(align - 1) & !(align - 1)
}

/// Little-endian field readers that return `Truncated` instead of panicking.
fn bytes<const N: usize>(image: &[u8], at: usize) -> Result<[u8; N], ElfError> {
    let end = at.checked_add(N).ok_or(ElfError::Truncated)?;
    image
        .get(at..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(ElfError::Truncated)
}

fn u16_at(image: &[u8], at: usize) -> Result<u16, ElfError> {
    bytes(image, at).map(u16::from_le_bytes)
}

fn u32_at(image: &[u8], at: usize) -> Result<u32, ElfError> {
    bytes(image, at).map(u32::from_le_bytes)
}

fn u64_at(image: &[u8], at: usize) -> Result<u64, ElfError> {
    bytes(image, at).map(u64::from_le_bytes)
}

/// One raw program header.
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

fn phdr_at(image: &[u8], at: usize) -> Result<Phdr, ElfError> {
    Ok(Phdr {
        p_type: u32_at(image, at)?,
        p_flags: u32_at(image, at + 4)?,
        p_offset: u64_at(image, at + 8)?,
        p_vaddr: u64_at(image, at + 16)?,
        p_filesz: u64_at(image, at + 32)?,
        p_memsz: u64_at(image, at + 40)?,
        p_align: u64_at(image, at + 48)?,
    })
}

/// Checks `[offset, offset + len)` lies inside a file of `file_len` bytes.
fn in_file(offset: u64, len: u64, file_len: usize) -> bool {
    offset
        .checked_add(len)
        .is_some_and(|end| end <= file_len as u64)
}

/// Parses and validates an executable image. See the module doc for what is checked.
pub fn parse(image: &[u8]) -> Result<ElfImage, ElfError> {
    if image.len() < EHDR_SIZE {
        return Err(if image.starts_with(b"\x7fELF") || image.is_empty() {
            ElfError::Truncated
        } else {
            ElfError::BadMagic
        });
    }
    if image[..4] != *b"\x7fELF" {
        return Err(ElfError::BadMagic);
    }
    if image[4] != 2 {
        return Err(ElfError::NotElf64);
    }
    if image[5] != 1 {
        return Err(ElfError::NotLittleEndian);
    }
    if image[6] != 1 || u32_at(image, 20)? != 1 {
        return Err(ElfError::BadVersion);
    }
    let e_type = u16_at(image, 16)?;
    if u16_at(image, 18)? != EM_X86_64 {
        return Err(ElfError::WrongMachine);
    }
    let pie = match e_type {
        ET_EXEC => false,
        ET_DYN => true,
        _ => return Err(ElfError::NotExecutable),
    };
    let entry = u64_at(image, 24)?;
    let phoff = u64_at(image, 32)?;
    let phentsize = u16_at(image, 54)?;
    let phnum = u16_at(image, 56)?;
    if phentsize != PHENT_SIZE || phnum == 0 {
        return Err(ElfError::BadProgramHeaders);
    }
    let table_len = usize::from(phnum) * usize::from(PHENT_SIZE);
    if table_len > MAX_PHDR_TABLE {
        return Err(ElfError::BadProgramHeaders);
    }
    if !in_file(phoff, table_len as u64, image.len()) {
        return Err(ElfError::Truncated);
    }
    // In bounds of a slice, hence fits in usize.
    let phoff_usize = phoff as usize;

    let mut segments = Vec::new();
    let mut interp: Option<String> = None;
    let mut pt_phdr: Option<u64> = None;
    let mut max_align = PAGE_SIZE;
    let mut exec_stack = false;
    for i in 0..usize::from(phnum) {
        let ph = phdr_at(image, phoff_usize + i * usize::from(PHENT_SIZE))?;
        match ph.p_type {
            PT_LOAD => {
                let seg = check_load(&ph, image.len())?;
                if segments
                    .last()
                    .is_some_and(|prev: &LoadSegment| prev.vaddr > seg.vaddr)
                {
                    return Err(ElfError::UnorderedSegments);
                }
                if ph.p_align.is_power_of_two() && ph.p_align > max_align {
                    if ph.p_align > USER_END / 2 {
                        return Err(ElfError::SegmentOutOfRange);
                    }
                    max_align = ph.p_align;
                }
                segments.push(seg);
            }
            PT_INTERP => {
                if interp.is_some() {
                    return Err(ElfError::BadInterpreter);
                }
                interp = Some(read_interp(&ph, image)?);
            }
            PT_PHDR => pt_phdr = Some(ph.p_vaddr),
            PT_GNU_STACK => exec_stack = ph.p_flags & PF_X != 0,
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadSegments);
    }
    // As Linux (5.18 on): the PT_LOAD whose file range holds `e_phoff` decides; PT_PHDR
    // only fills in when no segment maps the headers.
    let phdr_vaddr = segments
        .iter()
        .find(|s| phoff >= s.file_offset && phoff - s.file_offset < s.filesz)
        .map(|s| s.vaddr + (phoff - s.file_offset))
        .or(pt_phdr);
    let kind = match interp {
        Some(interp) => ElfKind::Dynamic { interp },
        None if pie => ElfKind::StaticPie,
        None => ElfKind::Static,
    };
    Ok(ElfImage {
        kind,
        pie,
        entry,
        phdr_vaddr,
        phnum,
        phentsize,
        segments,
        max_align,
        exec_stack,
    })
}

fn check_load(ph: &Phdr, file_len: usize) -> Result<LoadSegment, ElfError> {
    if ph.p_filesz > ph.p_memsz {
        return Err(ElfError::FileszExceedsMemsz);
    }
    if !in_file(ph.p_offset, ph.p_filesz, file_len) {
        return Err(ElfError::SegmentOutOfFile);
    }
    let end = ph
        .p_vaddr
        .checked_add(ph.p_memsz)
        .ok_or(ElfError::SegmentOutOfRange)?;
    if end > USER_END {
        return Err(ElfError::SegmentOutOfRange);
    }
    if ph.p_vaddr % PAGE_SIZE != ph.p_offset % PAGE_SIZE {
        return Err(ElfError::Misaligned);
    }
    Ok(LoadSegment {
        vaddr: ph.p_vaddr,
        memsz: ph.p_memsz,
        file_offset: ph.p_offset,
        filesz: ph.p_filesz,
        flags: SegmentFlags {
            read: ph.p_flags & PF_R != 0,
            write: ph.p_flags & PF_W != 0,
            exec: ph.p_flags & PF_X != 0,
        },
    })
}

fn read_interp(ph: &Phdr, image: &[u8]) -> Result<String, ElfError> {
    // Linux: `p_filesz` between 2 and PATH_MAX, last byte NUL.
    if ph.p_filesz < 2 || ph.p_filesz > MAX_INTERP_LEN as u64 {
        return Err(ElfError::BadInterpreter);
    }
    if !in_file(ph.p_offset, ph.p_filesz, image.len()) {
        return Err(ElfError::SegmentOutOfFile);
    }
    let start = ph.p_offset as usize;
    let raw = image
        .get(start..start + ph.p_filesz as usize)
        .ok_or(ElfError::SegmentOutOfFile)?;
    if raw.last() != Some(&0) {
        return Err(ElfError::BadInterpreter);
    }
    // Linux opens the path as a C string: it ends at the first NUL.
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    core::str::from_utf8(&raw[..len])
        .map(String::from)
        .map_err(|_| ElfError::BadInterpreter)
}

#[cfg(test)]
#[path = "elf_tests.rs"]
mod tests;
