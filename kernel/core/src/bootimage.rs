//! The boot image: one archive that carries the solution description and the
//! user program images from xtask to the kernel.
//!
//! xtask writes the archive with [`build_image`] and QEMU loads it with
//! `-initrd`; the kernel finds it through the PVH start info module list and
//! reads it with [`BootImage::parse`]. One archive entry, named
//! [`SOLUTION_ENTRY`], holds the [`Solution`] (which programs to start, and
//! how, and the static IPC channels between them) in the binary encoding of
//! [`Solution::encode`]; every other entry is
//! an ELF file named after the program image it holds. There is no TOML in the
//! kernel: xtask parses the human-written description and hands over this
//! fixed-layout form.
//!
//! # Archive layout (all integers little-endian)
//!
//! | offset | size | field                                                     |
//! |--------|------|-----------------------------------------------------------|
//! | 0      | 8    | [`IMAGE_MAGIC`]                                           |
//! | 8      | 4    | entry count (at most [`MAX_ENTRIES`])                     |
//! | 12     | 4    | reserved, zero                                            |
//! | 16     | 8    | total length of the archive in bytes                      |
//! | 24     | 8    | reserved, zero                                            |
//! | 32     | 64 × count | entry table                                         |
//!
//! Each 64-byte entry is: data offset (`u64`, from the start of the archive,
//! a multiple of [`DATA_ALIGN`]), data length (`u64`), name length (`u32`,
//! 1..=[`NAME_LEN`]), a reserved `u32` and a reserved `u64` (both zero), and
//! the name as [`NAME_LEN`] bytes of UTF-8, zero-padded.
//!
//! # Invariants that [`BootImage::parse`] checks
//!
//! A parsed image can be used without further checks: every data range lies
//! inside the archive, after the entry table, 4096-aligned (so the kernel can
//! map program pages straight out of the archive, which QEMU loads at a
//! page-aligned address), and data ranges appear in table order without
//! overlap. Names are non-empty UTF-8 without NUL bytes and unique. Bytes
//! after the recorded total length (padding added by a loader) are ignored.
//!
//! Parsing never panics and never allocates, whatever the input; it is safe to
//! run on the raw module before the kernel heap exists. The module is written
//! in safe code only.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// First eight bytes of every boot image. The trailing digits are the format
/// version; a change of layout changes the magic.
pub const IMAGE_MAGIC: [u8; 8] = *b"TSRIMG01";

/// Name of the archive entry that holds the encoded [`Solution`].
pub const SOLUTION_ENTRY: &str = "solution";

/// Longest entry, solution or program name, in bytes of UTF-8.
pub const NAME_LEN: usize = 32;

/// Alignment of every entry's data within the archive.
pub const DATA_ALIGN: usize = 4096;

/// Most entries an archive may have. This bounds the work of the duplicate
/// check at boot, whatever the input.
pub const MAX_ENTRIES: usize = 256;

/// Most programs a [`Solution`] may list.
pub const MAX_PROGRAMS: usize = 256;

/// Most channels a [`Solution`] may list (after xtask expanded a
/// program-name client into one channel per instance). This bounds the work
/// of the checks at boot, whatever the input.
pub const MAX_CHANNELS: usize = 1024;

/// Longest channel name, in bytes.
pub const CHANNEL_NAME_LEN: usize = 24;
// The rejection message spells the limit out.
const _: () = assert!(CHANNEL_NAME_LEN == 24);

/// First eight bytes of an encoded [`Solution`]. The trailing digits are the
/// format version: `002` added the channel list.
pub const SOLUTION_MAGIC: [u8; 8] = *b"TSSOL004";

/// Lowest scheduling priority a program may have.
pub const MIN_PRIORITY: u8 = 1;

/// Highest scheduling priority a program may have.
pub const MAX_PRIORITY: u8 = 31;

const HEADER_LEN: usize = 32;
const ENTRY_LEN: usize = 64;
const ENTRY_NAME_AT: usize = 32;

/// Why an archive or a solution was rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The input ends before a header, table or data range it declares.
    Truncated,
    /// The input does not start with [`IMAGE_MAGIC`].
    BadMagic,
    /// A header or entry field is malformed: empty or non-UTF-8 name,
    /// non-zero reserved field, misaligned or overlapping data, too many
    /// entries.
    BadEntry,
    /// A name is longer than [`NAME_LEN`] bytes.
    NameTooLong,
    /// Two entries (or two programs) have the same name.
    Duplicate,
    /// The encoded solution is malformed; the text says how.
    BadSolution(&'static str),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated => f.write_str("boot image truncated"),
            ImageError::BadMagic => f.write_str("not a Tessera boot image (bad magic)"),
            ImageError::BadEntry => f.write_str("malformed boot image entry"),
            ImageError::NameTooLong => write!(f, "name longer than {NAME_LEN} bytes"),
            ImageError::Duplicate => f.write_str("duplicate name"),
            ImageError::BadSolution(why) => write!(f, "bad solution: {why}"),
        }
    }
}

impl core::error::Error for ImageError {}

/// A parsed, validated boot image borrowing the archive bytes.
#[derive(Clone, Copy, Debug)]
pub struct BootImage<'a> {
    /// The archive, cut to its recorded total length.
    bytes: &'a [u8],
    /// Number of entries in the table.
    count: usize,
}

impl<'a> BootImage<'a> {
    /// Validates an archive. See the module docs for what is checked.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ImageError> {
        let header = bytes.get(..HEADER_LEN).ok_or(ImageError::Truncated)?;
        if header.get(..8) != Some(&IMAGE_MAGIC[..]) {
            return Err(ImageError::BadMagic);
        }
        let count = read_u32(header, 8).ok_or(ImageError::Truncated)? as usize;
        let reserved_a = read_u32(header, 12).ok_or(ImageError::Truncated)?;
        let total = read_u64(header, 16).ok_or(ImageError::Truncated)?;
        let reserved_b = read_u64(header, 24).ok_or(ImageError::Truncated)?;
        if reserved_a != 0 || reserved_b != 0 || count > MAX_ENTRIES {
            return Err(ImageError::BadEntry);
        }
        let total = usize::try_from(total).map_err(|_| ImageError::Truncated)?;
        let bytes = bytes.get(..total).ok_or(ImageError::Truncated)?;
        // count <= MAX_ENTRIES, so this cannot overflow.
        let table_end = HEADER_LEN + count * ENTRY_LEN;
        if table_end > bytes.len() {
            return Err(ImageError::Truncated);
        }
        let image = BootImage { bytes, count };
        let mut data_floor = table_end;
        for i in 0..count {
            let raw = image.raw_entry(i).ok_or(ImageError::Truncated)?;
            let name = check_entry_name(raw)?;
            let (offset, len) = entry_range(raw)?;
            if offset % DATA_ALIGN != 0 || offset < data_floor {
                return Err(ImageError::BadEntry);
            }
            let end = offset.checked_add(len).ok_or(ImageError::Truncated)?;
            if end > bytes.len() {
                return Err(ImageError::Truncated);
            }
            data_floor = end;
            for j in 0..i {
                let earlier = image.raw_entry(j).and_then(|e| entry_name(e).ok());
                if earlier == Some(name) {
                    return Err(ImageError::Duplicate);
                }
            }
        }
        Ok(image)
    }

    /// The data of the entry called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.entries()
            .find(|(n, _)| *n == name)
            .map(|(_, data)| data)
    }

    /// Every entry as `(name, data)`, in table order.
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + use<'a> {
        let image = *self;
        (0..self.count).filter_map(move |i| image.entry(i))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The raw 64-byte table entry `i`.
    fn raw_entry(&self, i: usize) -> Option<&'a [u8]> {
        let start = HEADER_LEN.checked_add(i.checked_mul(ENTRY_LEN)?)?;
        self.bytes.get(start..start.checked_add(ENTRY_LEN)?)
    }

    /// Entry `i` decoded. Always `Some` for `i < count` once `parse` succeeded.
    fn entry(&self, i: usize) -> Option<(&'a str, &'a [u8])> {
        let raw = self.raw_entry(i)?;
        let name = entry_name(raw).ok()?;
        let (offset, len) = entry_range(raw).ok()?;
        let data = self.bytes.get(offset..offset.checked_add(len)?)?;
        Some((name, data))
    }
}

/// The name of a raw entry, without the padding checks.
fn entry_name(raw: &[u8]) -> Result<&str, ImageError> {
    let len = read_u32(raw, 16).ok_or(ImageError::Truncated)? as usize;
    if len > NAME_LEN {
        return Err(ImageError::NameTooLong);
    }
    let field = raw
        .get(ENTRY_NAME_AT..ENTRY_NAME_AT + NAME_LEN)
        .ok_or(ImageError::Truncated)?;
    let name = field.get(..len).ok_or(ImageError::Truncated)?;
    core::str::from_utf8(name).map_err(|_| ImageError::BadEntry)
}

/// Full validation of a raw entry's name and reserved fields.
fn check_entry_name(raw: &[u8]) -> Result<&str, ImageError> {
    let name = entry_name(raw)?;
    let reserved_a = read_u32(raw, 20).ok_or(ImageError::Truncated)?;
    let reserved_b = read_u64(raw, 24).ok_or(ImageError::Truncated)?;
    let padding = raw
        .get(ENTRY_NAME_AT + name.len()..ENTRY_NAME_AT + NAME_LEN)
        .ok_or(ImageError::Truncated)?;
    if reserved_a != 0 || reserved_b != 0 || padding.iter().any(|&b| b != 0) {
        return Err(ImageError::BadEntry);
    }
    check_name(name)?;
    Ok(name)
}

/// The data range of a raw entry as host-sized integers.
fn entry_range(raw: &[u8]) -> Result<(usize, usize), ImageError> {
    let offset = read_u64(raw, 0).ok_or(ImageError::Truncated)?;
    let len = read_u64(raw, 8).ok_or(ImageError::Truncated)?;
    let offset = usize::try_from(offset).map_err(|_| ImageError::Truncated)?;
    let len = usize::try_from(len).map_err(|_| ImageError::Truncated)?;
    Ok((offset, len))
}

/// The rules every name (entry, solution, program, image) follows:
/// 1..=[`NAME_LEN`] bytes, no NUL.
fn check_name(name: &str) -> Result<(), ImageError> {
    if name.len() > NAME_LEN {
        Err(ImageError::NameTooLong)
    } else if name.is_empty() || name.as_bytes().contains(&0) {
        Err(ImageError::BadEntry)
    } else {
        Ok(())
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Builds an archive from `(name, data)` pairs, in the given order. Each data
/// blob starts on a [`DATA_ALIGN`] boundary. Fails on an empty, NUL-holding,
/// too long or duplicate name, or on more than [`MAX_ENTRIES`] entries.
pub fn build_image(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, ImageError> {
    if entries.len() > MAX_ENTRIES {
        return Err(ImageError::BadEntry);
    }
    for (i, (name, _)) in entries.iter().enumerate() {
        check_name(name)?;
        if entries[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(ImageError::Duplicate);
        }
    }
    let table_end = HEADER_LEN + entries.len() * ENTRY_LEN;
    // Lay the data out first, so the header can record the total length.
    let mut ranges = Vec::with_capacity(entries.len());
    let mut cursor = table_end;
    for (_, data) in entries {
        let offset = cursor.next_multiple_of(DATA_ALIGN);
        ranges.push((offset, data.len()));
        cursor = offset + data.len();
    }
    let total = cursor;

    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&IMAGE_MAGIC);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(total as u64).to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    for ((name, _), &(offset, len)) in entries.iter().zip(&ranges) {
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        out.extend_from_slice(&(len as u64).to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        let mut field = [0u8; NAME_LEN];
        field[..name.len()].copy_from_slice(name.as_bytes());
        out.extend_from_slice(&field);
    }
    for ((_, data), &(offset, _)) in entries.iter().zip(&ranges) {
        out.resize(offset, 0);
        out.extend_from_slice(data);
    }
    Ok(out)
}

/// How a program is expected to end. The kernel compares each domain's end
/// with this when the solution asks it to exit when done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Any end is fine (or the program never ends).
    Any,
    /// The program exits with this code.
    Exit(i64),
    /// The program is killed by a CPU exception.
    Fault,
}

/// One program to start: a domain named `name` running the ELF entry `image`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    /// Domain label, unique within the solution; shown in every log line.
    pub name: String,
    /// Name of the archive entry holding the program's ELF file.
    pub image: String,
    /// Scheduling priority of the main thread, [`MIN_PRIORITY`]..=[`MAX_PRIORITY`].
    pub priority: u8,
    /// CPUs the domain may run on: bit `i` is CPU `i`, taken modulo the number
    /// of CPUs online. Zero means any CPU.
    pub affinity: u64,
    /// Passed to the program's entry point in `rdi`.
    pub arg: u64,
    /// How the program is expected to end.
    pub expect: Expect,
    /// How many times the kernel starts the program again after it ends
    /// with a fault or a non-zero exit code, at most [`MAX_RESTARTS`]. A
    /// program that serves a channel cannot be restarted: its clients
    /// would keep handles to the old endpoint.
    pub restarts: u8,
    /// Started by [`Task.start`](abi) on request only, not at boot. Such a
    /// program serves no channel and has no devices, and may run as up to
    /// [`ProgramSpec::instances`] domains at once.
    pub on_demand: bool,
    /// For an on-demand program: most instances live at once,
    /// 1..=[`MAX_ON_DEMAND_INSTANCES`]. Always 1 for a boot program (boot
    /// instances are separate programs, named apart by xtask).
    pub instances: u8,
}

/// Most restarts a program may ask for.
pub const MAX_RESTARTS: u8 = 8;

/// Most live instances of one on-demand program.
pub const MAX_ON_DEMAND_INSTANCES: u8 = 8;

impl ProgramSpec {
    /// The label of instance `n` (1-based) of this program: its name when
    /// only one instance may live, else `name-n`.
    pub fn instance_label(&self, n: u8) -> String {
        if self.instances <= 1 {
            self.name.clone()
        } else {
            alloc::format!("{}-{n}", self.name)
        }
    }
}

/// A static IPC channel from one domain (the client) to another (the
/// server), set up by the kernel before the programs start.
///
/// Once [`Solution::decode`] accepted it: `name` is 1..=[`CHANNEL_NAME_LEN`]
/// bytes of `[a-z0-9_-]`; `client` and `server` are the
/// [`ProgramSpec::name`]s of two different programs of the same solution; and
/// no other channel of the same client has the same name. A server may serve
/// any number of channels, and a client may hold several channels to the same
/// server under different names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The name the client uses to find the channel; unique among the
    /// channels of one client (different clients may reuse it).
    pub name: String,
    /// The domain that calls through the channel: a [`ProgramSpec::name`].
    pub client: String,
    /// The domain that receives and replies: a [`ProgramSpec::name`] other
    /// than `client`.
    pub server: String,
    /// The client's handle also carries the `GRANT` right, so the client
    /// may pass the channel on in a message (see `abi::ool`).
    pub grant: bool,
}

/// A PCI device selection for a driver program: every unowned PCI
/// function that `select` matches (see [`crate::pci::Match::parse`]:
/// `"1af4:1050"`, `"1af4:*"`, `"class:03"`, `"class:03.00"`) is assigned
/// to the domain of `program` when it is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    /// The driver: a [`ProgramSpec::name`].
    pub program: String,
    /// Which devices.
    pub select: String,
}

/// Most device selections in one solution.
pub const MAX_DEVICES: usize = 64;

/// The solution: which programs the kernel starts, the channels between them,
/// and what counts as success when it is asked to exit once they are done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// Name of the solution (for the boot banner).
    pub name: String,
    /// Exit QEMU once every domain has ended: with a pass if each program
    /// ended as its [`ProgramSpec::expect`] says, with a failure otherwise.
    pub exit_when_done: bool,
    /// The programs, started in this order.
    pub programs: Vec<ProgramSpec>,
    /// The static IPC channels, at most [`MAX_CHANNELS`]; see [`ChannelSpec`]
    /// for what a decoded channel guarantees.
    pub channels: Vec<ChannelSpec>,
    /// PCI device assignments, at most [`MAX_DEVICES`], each naming a
    /// program of the solution and a valid selection.
    pub devices: Vec<DeviceSpec>,
}

// Encoding of a Solution (little-endian):
//   magic [u8; 8] = SOLUTION_MAGIC
//   flags u8      bit 0: exit_when_done; other bits zero
//   name  str     (u8 length, then UTF-8 bytes)
//   count u16     number of programs, at most MAX_PROGRAMS
//   count × { name str, image str, priority u8, affinity u64, arg u64,
//             expect u8 (0 any, 1 exit, 2 fault), code i64 (0 unless exit),
//             restarts u8, start u8 (0 boot, 1 on demand), instances u8 }
//   count u16     number of channels, at most MAX_CHANNELS
//   count × { name str, client str, server str, grant u8 (0 or 1) }
//   count u16     number of device selections, at most MAX_DEVICES
//   count × { program str, select str }
// Nothing may follow the last device selection.

const FLAG_EXIT_WHEN_DONE: u8 = 1;
const EXPECT_ANY: u8 = 0;
const EXPECT_EXIT: u8 = 1;
const EXPECT_FAULT: u8 = 2;

impl Solution {
    /// Encodes the solution for the [`SOLUTION_ENTRY`] archive entry. Fails
    /// on anything [`Solution::decode`] would reject.
    pub fn encode(&self) -> Result<Vec<u8>, ImageError> {
        self.validate()?;
        Ok(self.encode_unchecked())
    }

    /// The encoding without the checks. Only for valid solutions (and for
    /// tests that forge invalid bytes): string lengths must fit in a `u8` and
    /// counts in a `u16`, or the output is garbage (never a panic).
    fn encode_unchecked(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&SOLUTION_MAGIC);
        out.push(if self.exit_when_done {
            FLAG_EXIT_WHEN_DONE
        } else {
            0
        });
        put_str(&mut out, &self.name);
        out.extend_from_slice(&(self.programs.len() as u16).to_le_bytes());
        for p in &self.programs {
            put_str(&mut out, &p.name);
            put_str(&mut out, &p.image);
            out.push(p.priority);
            out.extend_from_slice(&p.affinity.to_le_bytes());
            out.extend_from_slice(&p.arg.to_le_bytes());
            let (kind, code) = match p.expect {
                Expect::Any => (EXPECT_ANY, 0),
                Expect::Exit(code) => (EXPECT_EXIT, code),
                Expect::Fault => (EXPECT_FAULT, 0),
            };
            out.push(kind);
            out.extend_from_slice(&code.to_le_bytes());
            out.push(p.restarts);
            out.push(u8::from(p.on_demand));
            out.push(p.instances);
        }
        out.extend_from_slice(&(self.channels.len() as u16).to_le_bytes());
        for c in &self.channels {
            put_str(&mut out, &c.name);
            put_str(&mut out, &c.client);
            put_str(&mut out, &c.server);
            out.push(u8::from(c.grant));
        }
        out.extend_from_slice(&(self.devices.len() as u16).to_le_bytes());
        for d in &self.devices {
            put_str(&mut out, &d.program);
            put_str(&mut out, &d.select);
        }
        out
    }

    /// Decodes and validates an encoded solution. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Solution, ImageError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(SOLUTION_MAGIC.len())? != SOLUTION_MAGIC {
            return Err(ImageError::BadSolution("bad magic"));
        }
        let flags = r.u8()?;
        if flags & !FLAG_EXIT_WHEN_DONE != 0 {
            return Err(ImageError::BadSolution("unknown flags"));
        }
        let name = r.str()?;
        let count = usize::from(r.u16()?);
        if count > MAX_PROGRAMS {
            return Err(ImageError::BadSolution("too many programs"));
        }
        let mut programs = Vec::new();
        for _ in 0..count {
            let name = r.str()?;
            let image = r.str()?;
            let priority = r.u8()?;
            let affinity = r.u64()?;
            let arg = r.u64()?;
            let kind = r.u8()?;
            let code = r.u64()? as i64;
            let expect = match (kind, code) {
                (EXPECT_ANY, 0) => Expect::Any,
                (EXPECT_EXIT, code) => Expect::Exit(code),
                (EXPECT_FAULT, 0) => Expect::Fault,
                (EXPECT_ANY | EXPECT_FAULT, _) => {
                    return Err(ImageError::BadSolution("exit code set without `exit`"));
                }
                _ => return Err(ImageError::BadSolution("unknown expect kind")),
            };
            let restarts = r.u8()?;
            let on_demand = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(ImageError::BadSolution("bad program start kind")),
            };
            let instances = r.u8()?;
            programs.push(ProgramSpec {
                name,
                image,
                priority,
                affinity,
                arg,
                expect,
                restarts,
                on_demand,
                instances,
            });
        }
        let count = usize::from(r.u16()?);
        if count > MAX_CHANNELS {
            return Err(ImageError::BadSolution("too many channels"));
        }
        let mut channels = Vec::new();
        for _ in 0..count {
            let name = r.str()?;
            let client = r.str()?;
            let server = r.str()?;
            let grant = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(ImageError::BadSolution("bad channel grant flag")),
            };
            channels.push(ChannelSpec {
                name,
                client,
                server,
                grant,
            });
        }
        let count = usize::from(r.u16()?);
        if count > MAX_DEVICES {
            return Err(ImageError::BadSolution("too many device selections"));
        }
        let mut devices = Vec::new();
        for _ in 0..count {
            let program = r.str()?;
            let select = r.str()?;
            devices.push(DeviceSpec { program, select });
        }
        if r.pos != bytes.len() {
            return Err(ImageError::BadSolution("trailing bytes"));
        }
        let solution = Solution {
            name,
            exit_when_done: flags & FLAG_EXIT_WHEN_DONE != 0,
            programs,
            channels,
            devices,
        };
        solution.validate()?;
        Ok(solution)
    }

    /// The rules shared by encode and decode.
    fn validate(&self) -> Result<(), ImageError> {
        check_solution_name(&self.name)?;
        if self.programs.len() > MAX_PROGRAMS {
            return Err(ImageError::BadSolution("too many programs"));
        }
        for (i, p) in self.programs.iter().enumerate() {
            check_solution_name(&p.name)?;
            check_solution_name(&p.image)?;
            if !(MIN_PRIORITY..=MAX_PRIORITY).contains(&p.priority) {
                return Err(ImageError::BadSolution("priority outside 1..=31"));
            }
            if self.programs[..i].iter().any(|q| q.name == p.name) {
                return Err(ImageError::Duplicate);
            }
            if p.restarts > MAX_RESTARTS {
                return Err(ImageError::BadSolution("more than 8 restarts"));
            }
            if p.restarts > 0 && self.channels.iter().any(|c| c.server == p.name) {
                return Err(ImageError::BadSolution(
                    "a program that serves a channel cannot be restarted",
                ));
            }
            if !p.on_demand && p.instances != 1 {
                return Err(ImageError::BadSolution(
                    "a boot program has exactly one instance",
                ));
            }
            if p.on_demand {
                if !(1..=MAX_ON_DEMAND_INSTANCES).contains(&p.instances) {
                    return Err(ImageError::BadSolution(
                        "an on-demand program has 1..=8 instances",
                    ));
                }
                if self.channels.iter().any(|c| c.server == p.name) {
                    return Err(ImageError::BadSolution(
                        "an on-demand program cannot serve a channel",
                    ));
                }
                if self.devices.iter().any(|d| d.program == p.name) {
                    return Err(ImageError::BadSolution(
                        "an on-demand program cannot have devices",
                    ));
                }
                if p.expect != Expect::Any {
                    return Err(ImageError::BadSolution(
                        "an on-demand program can only be expected to end any way",
                    ));
                }
            }
        }
        self.validate_channels()?;
        self.validate_devices()
    }

    /// Every device selection names a program and parses.
    fn validate_devices(&self) -> Result<(), ImageError> {
        if self.devices.len() > MAX_DEVICES {
            return Err(ImageError::BadSolution("too many device selections"));
        }
        for d in &self.devices {
            if !self.programs.iter().any(|p| p.name == d.program) {
                return Err(ImageError::BadSolution("device selection names no program"));
            }
            crate::pci::Match::parse(&d.select).map_err(ImageError::BadSolution)?;
        }
        Ok(())
    }

    /// The channel rules; see [`ChannelSpec`]. Runs in O(n log n) for n
    /// channels, so a forged image cannot make the boot slow.
    fn validate_channels(&self) -> Result<(), ImageError> {
        if self.channels.len() > MAX_CHANNELS {
            return Err(ImageError::BadSolution("too many channels"));
        }
        let domains: BTreeSet<&str> = self.programs.iter().map(|p| p.name.as_str()).collect();
        let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
        for c in &self.channels {
            check_channel_name(&c.name)?;
            check_solution_name(&c.client)?;
            check_solution_name(&c.server)?;
            if !domains.contains(c.client.as_str()) {
                return Err(ImageError::BadSolution("channel client names no program"));
            }
            if !domains.contains(c.server.as_str()) {
                return Err(ImageError::BadSolution("channel server names no program"));
            }
            if c.client == c.server {
                return Err(ImageError::BadSolution(
                    "channel from a domain to itself (client == server)",
                ));
            }
            if !seen.insert((c.client.as_str(), c.name.as_str())) {
                return Err(ImageError::BadSolution(
                    "two channels of one client have the same name",
                ));
            }
        }
        Ok(())
    }
}

/// Channel names: 1..=[`CHANNEL_NAME_LEN`] bytes of `[a-z0-9_-]`.
fn check_channel_name(name: &str) -> Result<(), ImageError> {
    if name.len() > CHANNEL_NAME_LEN {
        Err(ImageError::BadSolution("channel name longer than 24 bytes"))
    } else if name.is_empty() {
        Err(ImageError::BadSolution("empty channel name"))
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Err(ImageError::BadSolution(
            "channel name has a character outside [a-z0-9_-]",
        ))
    } else {
        Ok(())
    }
}

/// [`check_name`], with the empty-name error phrased for a solution.
fn check_solution_name(name: &str) -> Result<(), ImageError> {
    match check_name(name) {
        Err(ImageError::BadEntry) => Err(ImageError::BadSolution("empty name or NUL in name")),
        other => other,
    }
}

/// Appends a length-prefixed string. Callers have checked the length.
fn put_str(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// A bounds-checked cursor over an encoded solution.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
        let end = self.pos.checked_add(n).ok_or(ImageError::Truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or(ImageError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, ImageError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ImageError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u64(&mut self) -> Result<u64, ImageError> {
        read_u64(self.take(8)?, 0).ok_or(ImageError::Truncated)
    }

    fn str(&mut self) -> Result<String, ImageError> {
        let len = usize::from(self.u8()?);
        if len > NAME_LEN {
            return Err(ImageError::NameTooLong);
        }
        let raw = self.take(len)?;
        let s =
            core::str::from_utf8(raw).map_err(|_| ImageError::BadSolution("name is not UTF-8"))?;
        Ok(String::from(s))
    }
}

#[cfg(test)]
mod tests;
