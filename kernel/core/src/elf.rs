//! Validation of a static ELF64 user program and its load plan.
//!
//! [`plan`] turns the bytes of a program into a [`LoadPlan`]: the entry point
//! and the `PT_LOAD` segments to map. It accepts only what the loader can map
//! safely, and it never panics, whatever the bytes. Invariants of a returned
//! plan:
//!
//! - every segment has `mem_size > 0`, `file_size <= mem_size`, its file bytes
//!   inside the file, and `vaddr % 4096 == file_offset % 4096`;
//! - the page-rounded ranges `[floor(vaddr), ceil(vaddr + mem_size))` of all
//!   segments lie inside the user range and do not overlap each other, so
//!   each page belongs to exactly one segment;
//! - no segment is both writable and executable;
//! - the entry point lies inside an executable segment.
//!
//! Parsing goes through `xmas-elf`, which assumes well-formed, 8-byte-aligned
//! input and panics otherwise; so the header fields it would trust (program
//! header table size, place and alignment) are checked here first, and
//! unaligned input is copied to an aligned buffer.

use alloc::vec::Vec;
use core::ops::Range;
use xmas_elf::ElfFile;
use xmas_elf::header::{self, Class, Data, Machine};
use xmas_elf::program::{self, ProgramHeader64};

const PAGE: u64 = 4096;
/// Alignment `xmas-elf` needs for the ELF64 header and program headers.
const PARSE_ALIGN: usize = 8;
/// Size of the ELF64 file header.
const EHDR_SIZE: usize = 64;

/// One `PT_LOAD` segment, exactly as the file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address of the first byte.
    pub vaddr: u64,
    /// Bytes in memory; those past `file_size` are zero.
    pub mem_size: u64,
    /// Where the segment's bytes start in the file.
    pub file_offset: u64,
    /// Bytes taken from the file.
    pub file_size: u64,
    /// Mapped writable.
    pub writable: bool,
    /// Mapped executable.
    pub executable: bool,
}

/// What the loader must do to start a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// Virtual address of the first instruction.
    pub entry: u64,
    /// The segments to map, in file order.
    pub segments: Vec<Segment>,
}

/// Why a program was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The bytes are not a well-formed ELF file.
    Parse(&'static str),
    /// Not a little-endian 64-bit ELF file.
    NotElf64,
    /// Built for another machine.
    NotX86_64,
    /// Not a static executable (`ET_EXEC`, no interpreter, no dynamic section).
    NotExecutable,
    /// No loadable segment with a non-zero memory size.
    NoSegments,
    /// A segment is both writable and executable.
    WriteAndExecute,
    /// A segment lies (partly) outside the user range, or wraps around.
    OutOfRange,
    /// Two segments share a page.
    Overlap,
    /// A segment's file bytes lie outside the file, or exceed its memory size.
    BadFileRange,
    /// The entry point is not inside an executable segment.
    EntryNotExecutable,
    /// A segment's address and file offset differ modulo the page size.
    Misaligned,
}

/// Validates a static x86_64 ELF64 executable whose segments must lie in
/// `user`, and returns how to load it.
pub fn plan(bytes: &[u8], user: Range<u64>) -> Result<LoadPlan, ElfError> {
    let copy;
    let bytes = if (bytes.as_ptr() as usize).is_multiple_of(PARSE_ALIGN) {
        bytes
    } else {
        copy = aligned_copy(bytes)?;
        &copy.0[copy.1..]
    };
    let elf = ElfFile::new(bytes).map_err(ElfError::Parse)?;
    check_header(&elf)?;

    let mut segments = Vec::new();
    for i in 0..elf.header.pt2.ph_count() {
        let ph = match elf.program_header(i).map_err(ElfError::Parse)? {
            program::ProgramHeader::Ph64(ph) => ph,
            program::ProgramHeader::Ph32(_) => return Err(ElfError::NotElf64),
        };
        match ph.get_type() {
            Ok(program::Type::Load) => {}
            Ok(program::Type::Interp | program::Type::Dynamic) => {
                return Err(ElfError::NotExecutable);
            }
            // Notes, GNU_STACK, unknown types...: nothing to load.
            _ => continue,
        }
        if ph.mem_size == 0 {
            continue;
        }
        segments.push(check_segment(ph, bytes.len(), &user)?);
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    check_overlap(&segments)?;

    let entry = elf.header.pt2.entry_point();
    let in_text = |s: &Segment| s.executable && entry >= s.vaddr && entry - s.vaddr < s.mem_size;
    if !segments.iter().any(in_text) {
        return Err(ElfError::EntryNotExecutable);
    }
    Ok(LoadPlan { entry, segments })
}

/// Checks the file header, including everything `xmas-elf` would otherwise
/// trust when it reads program headers.
fn check_header(elf: &ElfFile<'_>) -> Result<(), ElfError> {
    let pt1 = elf.header.pt1;
    if pt1.class() != Class::SixtyFour || pt1.data() != Data::LittleEndian {
        return Err(ElfError::NotElf64);
    }
    let pt2 = &elf.header.pt2;
    if pt2.machine().as_machine() != Machine::X86_64 {
        return Err(ElfError::NotX86_64);
    }
    if pt2.type_().as_type() != header::Type::Executable {
        return Err(ElfError::NotExecutable);
    }
    if pt2.ph_count() == 0 {
        return Err(ElfError::NoSegments);
    }
    if usize::from(pt2.ph_entry_size()) != size_of::<ProgramHeader64>() {
        return Err(ElfError::Parse("unexpected program header size"));
    }
    let offset = pt2.ph_offset();
    if offset < EHDR_SIZE as u64 || !offset.is_multiple_of(PARSE_ALIGN as u64) {
        return Err(ElfError::Parse("misplaced program header table"));
    }
    let table = u64::from(pt2.ph_count()) * u64::from(pt2.ph_entry_size());
    match offset.checked_add(table) {
        Some(end) if end <= elf.input.len() as u64 => Ok(()),
        _ => Err(ElfError::Parse("program header table out of range")),
    }
}

/// Validates one `PT_LOAD` header with `mem_size > 0` on its own.
fn check_segment(
    ph: &ProgramHeader64,
    file_len: usize,
    user: &Range<u64>,
) -> Result<Segment, ElfError> {
    let file_end = ph.offset.checked_add(ph.file_size);
    if ph.file_size > ph.mem_size || file_end.is_none_or(|e| e > file_len as u64) {
        return Err(ElfError::BadFileRange);
    }
    if ph.virtual_addr % PAGE != ph.offset % PAGE {
        return Err(ElfError::Misaligned);
    }
    let s = Segment {
        vaddr: ph.virtual_addr,
        mem_size: ph.mem_size,
        file_offset: ph.offset,
        file_size: ph.file_size,
        writable: ph.flags.is_write(),
        executable: ph.flags.is_execute(),
    };
    if s.writable && s.executable {
        return Err(ElfError::WriteAndExecute);
    }
    let pages = page_range(&s).ok_or(ElfError::OutOfRange)?;
    if pages.start < user.start || pages.end > user.end {
        return Err(ElfError::OutOfRange);
    }
    Ok(s)
}

/// Fails if the page-rounded ranges of any two segments intersect.
fn check_overlap(segments: &[Segment]) -> Result<(), ElfError> {
    // Already checked by `check_segment`, so `page_range` is `Some`.
    let mut ranges: Vec<Range<u64>> = segments.iter().filter_map(page_range).collect();
    ranges.sort_unstable_by_key(|r| r.start);
    if ranges.windows(2).any(|w| w[0].end > w[1].start) {
        return Err(ElfError::Overlap);
    }
    Ok(())
}

/// `[floor(vaddr), ceil(vaddr + mem_size))`, or `None` if that wraps.
fn page_range(s: &Segment) -> Option<Range<u64>> {
    let end = s
        .vaddr
        .checked_add(s.mem_size)?
        .checked_next_multiple_of(PAGE)?;
    Some(s.vaddr - s.vaddr % PAGE..end)
}

/// A copy of `bytes` starting at an 8-byte-aligned offset of the buffer.
fn aligned_copy(bytes: &[u8]) -> Result<(Vec<u8>, usize), ElfError> {
    let mut buf = Vec::<u8>::with_capacity(bytes.len() + PARSE_ALIGN);
    let pad = buf.as_ptr().align_offset(PARSE_ALIGN);
    if pad >= PARSE_ALIGN {
        return Err(ElfError::Parse("cannot align input"));
    }
    // Both pushes fit in the capacity, so the buffer does not move.
    buf.resize(pad, 0);
    buf.extend_from_slice(bytes);
    Ok((buf, pad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    const PT_NOTE: u32 = 4;
    const R: u32 = 4;
    const W: u32 = 2;
    const X: u32 = 1;
    const USER: Range<u64> = abi::USER_BASE..abi::USER_TOP;

    #[derive(Clone, Copy)]
    struct Ph {
        kind: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
    }

    /// A program header with the usual type, readable.
    fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            kind: PT_LOAD,
            flags: flags | R,
            offset,
            vaddr,
            filesz,
            memsz,
        }
    }

    /// Header fields a test may change.
    struct Image {
        class: u8,
        data: u8,
        kind: u16,
        machine: u16,
        entry: u64,
        phs: Vec<Ph>,
    }

    impl Image {
        fn valid() -> Image {
            Image {
                class: 2,
                data: 1,
                kind: 2,
                machine: 62,
                entry: 0x40_0080,
                phs: vec![
                    load(X, 0, 0x40_0000, 0x200, 0x200),
                    load(W, 0x100, 0x40_1100, 0x50, 0x2000),
                ],
            }
        }

        /// Writes header, program headers at offset 64, and pads to 0x400 bytes.
        fn bytes(&self) -> Vec<u8> {
            let mut b = Vec::new();
            b.extend_from_slice(&[0x7f, b'E', b'L', b'F', self.class, self.data, 1, 0]);
            b.extend_from_slice(&[0; 8]);
            b.extend_from_slice(&self.kind.to_le_bytes());
            b.extend_from_slice(&self.machine.to_le_bytes());
            b.extend_from_slice(&1u32.to_le_bytes());
            b.extend_from_slice(&self.entry.to_le_bytes());
            b.extend_from_slice(&64u64.to_le_bytes()); // phoff
            b.extend_from_slice(&0u64.to_le_bytes()); // shoff
            b.extend_from_slice(&0u32.to_le_bytes()); // flags
            for half in [64u16, 56, self.phs.len() as u16, 64, 0, 0] {
                b.extend_from_slice(&half.to_le_bytes());
            }
            assert_eq!(b.len(), 64);
            for ph in &self.phs {
                b.extend_from_slice(&ph.kind.to_le_bytes());
                b.extend_from_slice(&ph.flags.to_le_bytes());
                for v in [ph.offset, ph.vaddr, ph.vaddr, ph.filesz, ph.memsz, PAGE] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
            b.resize(b.len().max(0x400), 0xcc);
            b
        }

        fn plan(&self) -> Result<LoadPlan, ElfError> {
            plan(&self.bytes(), USER)
        }
    }

    /// `f` applied to a valid image.
    fn with(f: impl FnOnce(&mut Image)) -> Result<LoadPlan, ElfError> {
        let mut img = Image::valid();
        f(&mut img);
        img.plan()
    }

    #[test]
    fn valid_program() {
        let p = Image::valid().plan().unwrap();
        assert_eq!(p.entry, 0x40_0080);
        assert_eq!(
            p.segments,
            vec![
                Segment {
                    vaddr: 0x40_0000,
                    mem_size: 0x200,
                    file_offset: 0,
                    file_size: 0x200,
                    writable: false,
                    executable: true
                },
                Segment {
                    vaddr: 0x40_1100,
                    mem_size: 0x2000,
                    file_offset: 0x100,
                    file_size: 0x50,
                    writable: true,
                    executable: false
                },
            ]
        );
    }

    #[test]
    fn unaligned_input_is_accepted() {
        let mut padded = vec![0u8];
        padded.extend(Image::valid().bytes());
        for start in 0..2 {
            let slice = &padded[start..];
            let r = plan(slice, USER);
            assert_eq!(r.is_ok(), start == 1, "start {start}");
        }
    }

    #[test]
    fn ignores_other_and_empty_segments() {
        let p = with(|i| {
            i.phs.push(Ph {
                kind: PT_NOTE,
                ..load(W | X, 0, 0, 0, 0x1000)
            });
            i.phs.push(Ph {
                kind: 0x6474_e551,
                ..load(W, 0, 0, 0, 0)
            }); // GNU_STACK
            i.phs.push(load(W | X, 0xffff_0000, 0x40_0000, 0, 0)); // memsz 0
        })
        .unwrap();
        assert_eq!(p.segments.len(), 2);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(plan(&[], USER), Err(ElfError::Parse(_))));
        assert!(matches!(plan(&[0; 64], USER), Err(ElfError::Parse(_))));
        assert_eq!(with(|i| i.class = 1), Err(ElfError::NotElf64));
        assert_eq!(with(|i| i.data = 2), Err(ElfError::NotElf64));
        assert_eq!(with(|i| i.machine = 3), Err(ElfError::NotX86_64));
        assert_eq!(with(|i| i.kind = 3), Err(ElfError::NotExecutable)); // PIE / DYN
        assert_eq!(with(|i| i.kind = 1), Err(ElfError::NotExecutable));
        assert_eq!(with(|i| i.phs.clear()), Err(ElfError::NoSegments));
        let interp = Ph {
            kind: PT_INTERP,
            ..load(0, 0, 0, 1, 1)
        };
        assert_eq!(with(|i| i.phs.push(interp)), Err(ElfError::NotExecutable));
        let dynamic = Ph {
            kind: PT_DYNAMIC,
            ..interp
        };
        assert_eq!(with(|i| i.phs.push(dynamic)), Err(ElfError::NotExecutable));
    }

    #[test]
    fn program_header_table_is_checked() {
        let mut b = Image::valid().bytes();
        b[56] = 0xff; // phnum low byte: 255 entries run past the file
        assert!(matches!(plan(&b, USER), Err(ElfError::Parse(_))));
        let mut b = Image::valid().bytes();
        b[54] = 32; // phentsize
        assert!(matches!(plan(&b, USER), Err(ElfError::Parse(_))));
        for phoff in [0u64, 65, u64::MAX - 7, 8] {
            let mut b = Image::valid().bytes();
            b[32..40].copy_from_slice(&phoff.to_le_bytes());
            assert!(matches!(plan(&b, USER), Err(ElfError::Parse(_))), "{phoff}");
        }
    }

    #[test]
    fn segment_errors() {
        use ElfError::*;
        let set = |ph: Ph| with(move |i| i.phs[1] = ph);
        assert_eq!(
            set(load(W, 0x100, 0x40_1100, 0x60, 0x50)),
            Err(BadFileRange)
        );
        assert_eq!(
            set(load(W, 0x3f0, 0x40_13f0, 0x20, 0x20)),
            Err(BadFileRange)
        );
        assert_eq!(set(load(W, u64::MAX, 0x40_1fff, 2, 2)), Err(BadFileRange));
        assert_eq!(set(load(W, 0x100, 0x40_1000, 0x50, 0x50)), Err(Misaligned));
        assert_eq!(
            set(load(W | X, 0x100, 0x40_1100, 0x50, 0x50)),
            Err(WriteAndExecute)
        );
        // Shares the first segment's page once rounded.
        assert_eq!(set(load(W, 0x300, 0x40_0300, 0x50, 0x50)), Err(Overlap));
        assert_eq!(set(load(W, 0x100, 0x3f_f100, 0x50, 0x50)), Err(OutOfRange));
        assert_eq!(
            set(load(W, 0x100, abi::USER_TOP - 0x1000 + 0x100, 0, 0xf01)),
            Err(OutOfRange)
        );
        assert_eq!(
            set(load(W, 0x100, u64::MAX - 0xeff, 0, 0x10)),
            Err(OutOfRange)
        );
        assert_eq!(set(load(W, 0x100, 0x40_1100, 0, u64::MAX)), Err(OutOfRange));
        // Overlap is found whatever the order of segments.
        let early = load(W, 0x100, 0x3f_f100 + 0x1000, 0x50, 0x1000);
        assert_eq!(with(|i| i.phs.insert(0, early)), Err(Overlap));
    }

    #[test]
    fn entry_must_be_executable() {
        assert_eq!(
            with(|i| i.entry = 0x40_1100),
            Err(ElfError::EntryNotExecutable)
        );
        assert_eq!(
            with(|i| i.entry = 0x40_0200),
            Err(ElfError::EntryNotExecutable)
        );
        assert_eq!(with(|i| i.entry = 0), Err(ElfError::EntryNotExecutable));
        assert!(with(|i| i.entry = 0x40_01ff).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics_on_random_bytes(b in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = plan(&b, USER);
            if b.len() > 1 {
                let _ = plan(&b[1..], USER);
            }
        }

        #[test]
        fn never_panics_on_mutated_images(
            edits in prop::collection::vec((0usize..0x200, any::<u8>()), 1..8),
            cut in 0usize..0x400,
        ) {
            let mut b = Image::valid().bytes();
            for (at, v) in edits {
                b[at] = v;
            }
            let _ = plan(&b, USER);
            let _ = plan(&b[..cut], USER);
            if let Ok(p) = plan(&b, USER) {
                for s in &p.segments {
                    prop_assert!(s.file_size <= s.mem_size && !(s.writable && s.executable));
                    prop_assert!(s.file_offset + s.file_size <= b.len() as u64);
                }
            }
        }
    }
}
