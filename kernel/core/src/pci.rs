//! PCI configuration-space logic that needs no hardware.
//!
//! The kernel gives each user-space driver the PCI functions assigned to it.
//! It reaches a function's configuration space through ECAM, a memory-mapped
//! window with one 4 KiB page per function; [`ecam_offset`] locates that
//! page. Everything else in this module reads and writes configuration space
//! only through the [`ConfigSpace`] trait, so host tests can run it against a
//! fake function:
//!
//! - [`read_header`] identifies a function;
//! - [`probe_bars`] sizes its base address registers (BARs);
//! - [`capabilities`] walks its capability list, and [`msix`] locates its
//!   MSI-X table;
//! - [`Match`] is a rule that assigns functions to a driver, in a text form
//!   for people and a fixed 6-byte form for the boot image;
//! - [`ConfigFilter`] decides which of a driver's configuration writes reach
//!   the hardware and what the driver reads back.
//!
//! Offsets are byte offsets into the function's 4 KiB configuration page.
//! Every access is an aligned 32-bit dword, called a dword below.

/// Size in bytes of one function's configuration space under ECAM.
pub const CONFIG_SPACE_SIZE: u16 = 4096;

/// Capability ID of MSI-X.
pub const CAP_MSIX: u8 = 0x11;

/// Vendor ID read from a device/function number where no function exists.
const VENDOR_NONE: u16 = 0xffff;

/// Dword holding the vendor ID (low half) and device ID (high half).
const REG_ID: u16 = 0x00;
/// Dword holding the command register (low half) and status register (high
/// half).
const REG_COMMAND: u16 = 0x04;
/// Dword holding the revision ID, programming interface, subclass and class,
/// from the lowest byte up.
const REG_CLASS: u16 = 0x08;
/// Dword whose third byte is the header type.
const REG_HEADER: u16 = 0x0c;
/// First BAR dword of a type-0 header. BAR `n` is at `REG_BAR0 + 4 * n`.
const REG_BAR0: u16 = 0x10;
/// Last BAR dword of a type-0 header.
const REG_BAR5: u16 = 0x24;
/// Dword whose low byte points to the first capability.
const REG_CAP_PTR: u16 = 0x34;

/// Number of BARs in a type-0 header.
const BAR_COUNT: usize = 6;

/// Command register: respond to I/O space accesses.
const CMD_IO: u32 = 1 << 0;
/// Command register: respond to memory space accesses.
const CMD_MEMORY: u32 = 1 << 1;
/// Command register: allow the function to master the bus (do DMA).
const CMD_BUS_MASTER: u32 = 1 << 2;
/// Command register: stop the function from asserting INTx.
const CMD_INTX_DISABLE: u32 = 1 << 10;
/// The command bits a driver may set or clear.
const CMD_DRIVER_BITS: u32 = CMD_IO | CMD_MEMORY | CMD_BUS_MASTER | CMD_INTX_DISABLE;

/// Status register bit 4, seen in the command/status dword: the function
/// has a capability list.
const STATUS_CAP_LIST: u32 = 1 << (16 + 4);

/// BAR bit 0: the BAR decodes I/O space rather than memory space.
const BAR_IO: u32 = 1;
/// Low bits of an I/O BAR that are flags, not address bits.
const BAR_IO_FLAGS: u32 = 0b11;
/// Low bits of a memory BAR that are flags, not address bits.
const BAR_MEM_FLAGS: u32 = 0b1111;
/// Bits 1..=2 of a memory BAR: the BAR's type.
const BAR_MEM_TYPE: u32 = 0b110;
/// Memory BAR type: a 32-bit BAR.
const BAR_MEM_TYPE_32: u32 = 0b000;
/// Memory BAR type: a 64-bit BAR whose upper half is the next BAR dword.
const BAR_MEM_TYPE_64: u32 = 0b100;
/// Memory BAR bit 3: the range is prefetchable.
const BAR_MEM_PREFETCHABLE: u32 = 0b1000;

/// Capabilities live after the 64-byte standard header.
const CAP_FIRST_OFFSET: u8 = 0x40;
/// Most capabilities [`capabilities`] yields. The 192 bytes after the
/// header hold at most 48 capabilities of 4 bytes each, so a longer list
/// must be looped.
const CAP_MAX: usize = 48;
/// Capability pointers are dword-aligned; their low 2 bits are reserved.
const CAP_PTR_MASK: u32 = 0xfc;

/// Bits of the MSI-X capability's first dword a driver may change: bit 15
/// (MSI-X enable) and bit 14 (function mask) of message control, which is
/// the dword's high half.
const MSIX_CONTROL_DRIVER_BITS: u32 = 0xc000_0000;
/// Message control bits 0..=10: the table size minus one.
const MSIX_TABLE_SIZE_MASK: u32 = 0x7ff;
/// Low 3 bits of the MSI-X table and PBA dwords: the BAR indicator (BIR).
const MSIX_BIR_MASK: u32 = 0b111;
/// Size in bytes of an MSI-X capability.
const MSIX_CAP_SIZE: u16 = 12;

/// Size in bytes of the part of configuration space a driver may write.
const FILTER_LIMIT: u16 = 256;

/// Byte offset of a function's 4 KiB configuration page from the ECAM base
/// of the bus range that starts at bus 0.
///
/// `device` must be below 32 and `function` below 8. Larger values are a
/// caller bug: debug builds panic on them, and release builds ignore the
/// excess high bits so that the offset still lands on the page of some
/// function of `bus`.
pub fn ecam_offset(bus: u8, device: u8, function: u8) -> u64 {
    debug_assert!(device < 32, "PCI device number {device} is not below 32");
    debug_assert!(
        function < 8,
        "PCI function number {function} is not below 8"
    );
    (u64::from(bus) << 20) | (u64::from(device & 0x1f) << 15) | (u64::from(function & 0x7) << 12)
}

/// One function's configuration space.
///
/// Offsets are dword-aligned and below [`CONFIG_SPACE_SIZE`]; callers in
/// this module never pass anything else.
pub trait ConfigSpace {
    /// Reads the dword at `offset`.
    fn read32(&self, offset: u16) -> u32;
    /// Writes `value` to the dword at `offset`.
    fn write32(&mut self, offset: u16, value: u32);
}

/// Reads the byte at `offset` through dword access.
fn read8(cs: &impl ConfigSpace, offset: u16) -> u8 {
    (cs.read32(offset & !3) >> (8 * (offset & 3))) as u8
}

/// The identifying fields of a function's configuration header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Base class code, for example `0x03` for display controllers.
    pub class: u8,
    /// Subclass code within the base class.
    pub subclass: u8,
    /// Programming interface within the subclass.
    pub prog_if: u8,
    /// Header layout: the low 7 bits of the header type byte. 0 is an
    /// ordinary function, 1 a PCI-to-PCI bridge, 2 a CardBus bridge.
    pub header_type: u8,
    /// Bit 7 of the header type byte: the device has functions other than
    /// function 0. Only meaningful on function 0.
    pub multifunction: bool,
}

/// Reads the identifying fields of a function, or `None` when the vendor ID
/// reads as `0xffff`, which means no function is there.
pub fn read_header(cs: &impl ConfigSpace) -> Option<Header> {
    let id = cs.read32(REG_ID);
    let vendor = id as u16;
    if vendor == VENDOR_NONE {
        return None;
    }
    let class = cs.read32(REG_CLASS);
    let header_type = read8(cs, REG_HEADER + 2);
    Some(Header {
        vendor,
        device: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        prog_if: (class >> 8) as u8,
        header_type: header_type & 0x7f,
        multifunction: header_type & 0x80 != 0,
    })
}

/// A range a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    /// A range of physical memory addresses.
    Memory {
        /// First address of the range (a multiple of `size`).
        base: u64,
        /// Length of the range in bytes, a power of two.
        size: u64,
        /// Reads have no side effects, so the range may be mapped with
        /// write-combining or prefetching.
        prefetchable: bool,
        /// The BAR is 64 bits wide and also occupies the next BAR slot.
        is64: bool,
    },
    /// A range of I/O ports.
    Io {
        /// First port of the range (a multiple of `size`).
        port: u32,
        /// Number of ports, a power of two.
        size: u32,
    },
}

/// Offset of the dword of BAR slot `slot`.
fn bar_offset(slot: usize) -> u16 {
    REG_BAR0 + 4 * slot as u16
}

/// The BAR slot whose dword is at `offset`, if any.
fn bar_slot(offset: u16) -> Option<usize> {
    (offset.is_multiple_of(4) && (REG_BAR0..=REG_BAR5).contains(&offset))
        .then(|| usize::from((offset - REG_BAR0) / 4))
}

/// Runs the sizing step on one BAR dword: writes all-ones, reads back what
/// the hardware kept, and writes the original value `orig` back. Returns
/// the value read back.
fn size_dword(cs: &mut impl ConfigSpace, offset: u16, orig: u32) -> u32 {
    cs.write32(offset, u32::MAX);
    let mask = cs.read32(offset);
    cs.write32(offset, orig);
    mask
}

/// Sizes the BARs of a function with a type-0 header.
///
/// Slot `n` of the result describes BAR `n`. A 64-bit BAR is reported in
/// its lower slot and the upper slot is `None`. A slot is also `None` when
/// its BAR is unimplemented (decodes zero bytes), when it is a 64-bit BAR
/// in slot 5 (it would need a sixth dword that does not exist), or when it
/// is a memory BAR of a reserved type.
///
/// Sizing follows the standard protocol: memory and I/O decoding are turned
/// off in the command register first, so that the device does not claim the
/// addresses a half-sized BAR momentarily holds; then each BAR dword gets
/// all-ones written, is read back, and gets its original value written
/// back; finally the command register is restored. Writes to the command
/// register carry zero in the status half, because writing ones to status
/// would clear its error bits.
///
/// A function whose header type is not 0 (bridges, or an absent function,
/// which reads as all-ones) is left untouched and gets all `None`: its
/// dwords at 0x18..=0x24 are not BARs, and writing to them would disturb
/// bus routing.
pub fn probe_bars(cs: &mut impl ConfigSpace) -> [Option<Bar>; 6] {
    let mut bars = [None; BAR_COUNT];
    if read8(cs, REG_HEADER + 2) != 0 {
        return bars;
    }
    let command = cs.read32(REG_COMMAND) & 0xffff;
    let quiet = command & !(CMD_IO | CMD_MEMORY);
    if quiet != command {
        cs.write32(REG_COMMAND, quiet);
    }

    let mut slot = 0;
    while slot < BAR_COUNT {
        let offset = bar_offset(slot);
        let orig = cs.read32(offset);
        if orig & BAR_IO != 0 {
            let mask = size_dword(cs, offset, orig) & !BAR_IO_FLAGS;
            // The lowest writable address bit is the size. Using it rather
            // than `!mask + 1` also handles functions that decode only 16
            // bits of I/O address and read back zero in the upper half.
            let size = mask & mask.wrapping_neg();
            bars[slot] = (size != 0).then_some(Bar::Io {
                port: orig & !BAR_IO_FLAGS,
                size,
            });
            slot += 1;
            continue;
        }
        match orig & BAR_MEM_TYPE {
            BAR_MEM_TYPE_32 => {
                let mask = u64::from(size_dword(cs, offset, orig) & !BAR_MEM_FLAGS);
                let size = mask & mask.wrapping_neg();
                bars[slot] = (size != 0).then_some(Bar::Memory {
                    base: u64::from(orig & !BAR_MEM_FLAGS),
                    size,
                    prefetchable: orig & BAR_MEM_PREFETCHABLE != 0,
                    is64: false,
                });
                slot += 1;
            }
            BAR_MEM_TYPE_64 if slot + 1 < BAR_COUNT => {
                let upper = bar_offset(slot + 1);
                let orig_upper = cs.read32(upper);
                let mask_lower = size_dword(cs, offset, orig) & !BAR_MEM_FLAGS;
                let mask_upper = size_dword(cs, upper, orig_upper);
                let mask = (u64::from(mask_upper) << 32) | u64::from(mask_lower);
                let size = mask & mask.wrapping_neg();
                bars[slot] = (size != 0).then_some(Bar::Memory {
                    base: (u64::from(orig_upper) << 32) | u64::from(orig & !BAR_MEM_FLAGS),
                    size,
                    prefetchable: orig & BAR_MEM_PREFETCHABLE != 0,
                    is64: true,
                });
                slot += 2;
            }
            // A 64-bit BAR in the last slot, or a reserved type: not
            // usable, and not written to.
            _ => slot += 1,
        }
    }

    if quiet != command {
        cs.write32(REG_COMMAND, command);
    }
    bars
}

/// Walks a function's capability list, yielding `(id, offset)` for each
/// capability in list order.
///
/// The list exists only when bit 4 of the status register is set. Its head
/// is the byte at 0x34, and each capability's second byte points to the
/// next; the low 2 bits of every pointer are reserved and ignored. The walk
/// stops at a pointer of 0, at a pointer below 0x40 (which would point into
/// the standard header), and after 48 capabilities, so that a list that
/// loops back on itself still ends.
pub fn capabilities(cs: &impl ConfigSpace) -> impl Iterator<Item = (u8, u8)> {
    let mut next = if cs.read32(REG_COMMAND) & STATUS_CAP_LIST != 0 {
        (cs.read32(REG_CAP_PTR) & CAP_PTR_MASK) as u8
    } else {
        0
    };
    let mut left = CAP_MAX;
    core::iter::from_fn(move || {
        if left == 0 || next < CAP_FIRST_OFFSET {
            return None;
        }
        left -= 1;
        let offset = next;
        let dword = cs.read32(u16::from(offset));
        next = ((dword >> 8) & CAP_PTR_MASK) as u8;
        Some((dword as u8, offset))
    })
}

/// Where a function keeps its MSI-X table and pending-bit array (PBA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixInfo {
    /// Offset of the MSI-X capability in configuration space.
    pub cap_offset: u8,
    /// Number of entries (interrupt vectors) in the table, 1 to 2048.
    pub table_size: u16,
    /// BAR slot (0 to 5) whose memory range holds the table.
    pub table_bar: u8,
    /// Byte offset of the table within that BAR's range (a multiple of 8).
    pub table_offset: u32,
    /// BAR slot (0 to 5) whose memory range holds the PBA.
    pub pba_bar: u8,
    /// Byte offset of the PBA within that BAR's range (a multiple of 8).
    pub pba_offset: u32,
}

/// Finds the function's first MSI-X capability and reads where its table
/// and PBA are.
///
/// Returns `None` when there is no MSI-X capability, when it does not fit
/// in the first 256 bytes of configuration space, or when its table or PBA
/// names a BAR slot above 5 (values 6 and 7 are reserved).
pub fn msix(cs: &impl ConfigSpace) -> Option<MsixInfo> {
    let (_, cap_offset) = capabilities(cs).find(|&(id, _)| id == CAP_MSIX)?;
    let base = u16::from(cap_offset);
    if base + MSIX_CAP_SIZE > FILTER_LIMIT {
        return None;
    }
    let control = cs.read32(base) >> 16;
    let table = cs.read32(base + 4);
    let pba = cs.read32(base + 8);
    let table_bar = (table & MSIX_BIR_MASK) as u8;
    let pba_bar = (pba & MSIX_BIR_MASK) as u8;
    if usize::from(table_bar) >= BAR_COUNT || usize::from(pba_bar) >= BAR_COUNT {
        return None;
    }
    Some(MsixInfo {
        cap_offset,
        table_size: (control & MSIX_TABLE_SIZE_MASK) as u16 + 1,
        table_bar,
        table_offset: table & !MSIX_BIR_MASK,
        pba_bar,
        pba_offset: pba & !MSIX_BIR_MASK,
    })
}

/// A rule that says which functions are assigned to a driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Functions with this vendor ID and device ID.
    Id {
        /// Vendor ID.
        vendor: u16,
        /// Device ID.
        device: u16,
    },
    /// Functions with this vendor ID and any device ID.
    Vendor(u16),
    /// Functions of this class, and of this subclass if one is given.
    Class {
        /// Base class code.
        class: u8,
        /// Subclass code, or `None` for every subclass.
        subclass: Option<u8>,
    },
}

/// Parses `s` as a hexadecimal number of 1 to `max_digits` digits. Signs,
/// prefixes and spaces are not accepted.
fn parse_hex(s: &str, max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

impl Match {
    /// Length in bytes of the form [`Match::encode`] writes.
    pub const ENCODED_LEN: usize = 6;

    /// Parses the text form of a rule. Numbers are hexadecimal, in either
    /// case, without a `0x` prefix:
    ///
    /// - `VVVV:DDDD`, such as `1af4:1050`: vendor and device ID, 1 to 4
    ///   digits each;
    /// - `VVVV:*`, such as `1af4:*`: vendor ID only;
    /// - `class:CC` or `class:CC.SS`, such as `class:03` or `class:03.00`:
    ///   class, and optionally subclass, 1 or 2 digits each.
    ///
    /// Vendor ID `ffff` is refused, since it is what an empty slot reads
    /// as and no function has it.
    pub fn parse(s: &str) -> Result<Match, &'static str> {
        if let Some(rest) = s.strip_prefix("class:") {
            let (class, subclass) = match rest.split_once('.') {
                Some((class, subclass)) => (class, Some(subclass)),
                None => (rest, None),
            };
            let class = parse_hex(class, 2).ok_or("PCI class must be 1 or 2 hex digits")?;
            let subclass = match subclass {
                Some(s) => {
                    Some(parse_hex(s, 2).ok_or("PCI subclass must be 1 or 2 hex digits")? as u8)
                }
                None => None,
            };
            return Ok(Match::Class {
                class: class as u8,
                subclass,
            });
        }
        let (vendor, device) = s
            .split_once(':')
            .ok_or("PCI match must be vendor:device, vendor:*, class:CC or class:CC.SS")?;
        let vendor = parse_hex(vendor, 4).ok_or("PCI vendor ID must be 1 to 4 hex digits")? as u16;
        if vendor == VENDOR_NONE {
            return Err("PCI vendor ID ffff means an empty slot and matches nothing");
        }
        if device == "*" {
            return Ok(Match::Vendor(vendor));
        }
        let device =
            parse_hex(device, 4).ok_or("PCI device ID must be 1 to 4 hex digits or *")? as u16;
        Ok(Match::Id { vendor, device })
    }

    /// Whether the function with header `h` is one this rule selects.
    pub fn matches(&self, h: &Header) -> bool {
        match *self {
            Match::Id { vendor, device } => h.vendor == vendor && h.device == device,
            Match::Vendor(vendor) => h.vendor == vendor,
            Match::Class { class, subclass } => {
                h.class == class && subclass.is_none_or(|s| h.subclass == s)
            }
        }
    }

    /// The fixed 6-byte form stored in the boot image. Byte 0 is the kind,
    /// the fields follow in little-endian order, and bytes no field uses
    /// are 0:
    ///
    /// - `Id`: `[1, vendor lo, vendor hi, device lo, device hi, 0]`;
    /// - `Vendor`: `[2, vendor lo, vendor hi, 0, 0, 0]`;
    /// - `Class`: `[3, class, 0, 0, 0, 0]` without a subclass and
    ///   `[3, class, 1, subclass, 0, 0]` with one.
    pub fn encode(&self) -> [u8; 6] {
        match *self {
            Match::Id { vendor, device } => {
                let [v0, v1] = vendor.to_le_bytes();
                let [d0, d1] = device.to_le_bytes();
                [1, v0, v1, d0, d1, 0]
            }
            Match::Vendor(vendor) => {
                let [v0, v1] = vendor.to_le_bytes();
                [2, v0, v1, 0, 0, 0]
            }
            Match::Class {
                class,
                subclass: None,
            } => [3, class, 0, 0, 0, 0],
            Match::Class {
                class,
                subclass: Some(subclass),
            } => [3, class, 1, subclass, 0, 0],
        }
    }

    /// Reads the form [`Match::encode`] writes. Returns `None` unless `b`
    /// is exactly 6 bytes of a known kind with every unused byte 0 and the
    /// subclass flag 0 or 1.
    pub fn decode(b: &[u8]) -> Option<Match> {
        let b: [u8; Self::ENCODED_LEN] = b.try_into().ok()?;
        match b {
            [1, v0, v1, d0, d1, 0] => Some(Match::Id {
                vendor: u16::from_le_bytes([v0, v1]),
                device: u16::from_le_bytes([d0, d1]),
            }),
            [2, v0, v1, 0, 0, 0] => Some(Match::Vendor(u16::from_le_bytes([v0, v1]))),
            [3, class, 0, 0, 0, 0] => Some(Match::Class {
                class,
                subclass: None,
            }),
            [3, class, 1, subclass, 0, 0] => Some(Match::Class {
                class,
                subclass: Some(subclass),
            }),
            _ => None,
        }
    }
}

impl core::str::FromStr for Match {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Match::parse(s)
    }
}

/// What to do with a driver's configuration write, as decided by
/// [`ConfigFilter::write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Write this value, in place of the driver's, to the hardware at the
    /// offset the driver gave.
    Pass(u32),
    /// The filter emulated the write; write nothing to the hardware.
    Absorbed,
    /// The driver may not make this write; write nothing to the hardware.
    Denied,
}

/// The filter between a driver and its function's configuration space.
///
/// A driver domain writes its function's configuration space only through
/// this filter, which lets it do exactly what a driver needs and nothing
/// that would let it reach memory or devices it was not given:
///
/// - In the command register it may set or clear I/O space, memory space,
///   bus master and INTx disable. Every other command bit is written as 0,
///   and the status half as 0, which leaves status unchanged.
/// - It may size BARs the usual way but never move them. BAR writes never
///   reach the hardware: writing all-ones to a BAR dword puts that dword in
///   sizing state, in which reads return the size mask the hardware would
///   return, and writing the dword's original value takes it out again.
///   Any other BAR write is denied.
/// - If the function has an MSI-X capability it may set or clear the
///   MSI-X enable and function mask bits.
///
/// Everything else in the first 256 bytes, and everything beyond them, is
/// read-only to the driver; [`ConfigFilter::write`] explains the details.
///
/// Reads of a BAR dword always return the BAR as the kernel recorded it
/// (or its size mask during sizing), never the hardware value, so a BAR
/// the kernel treats as absent reads as an unimplemented BAR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFilter {
    /// Value of each BAR dword as the kernel recorded it: what the driver
    /// reads outside sizing state, and what it must write to leave it.
    bar_value: [u32; BAR_COUNT],
    /// What each BAR dword reads as in sizing state.
    bar_mask: [u32; BAR_COUNT],
    /// Which BAR dwords are in sizing state.
    sizing: [bool; BAR_COUNT],
    /// Offset of the MSI-X capability's first dword, if there is one.
    msix_control: Option<u16>,
}

impl ConfigFilter {
    /// A filter for a function whose BARs are `bars`, as [`probe_bars`]
    /// returned them, and whose MSI-X capability is at `msix_cap`
    /// ([`MsixInfo::cap_offset`]), with no BAR in sizing state.
    ///
    /// From each BAR the filter derives the value its dwords hold and the
    /// mask they read back during sizing, as hardware does: a memory BAR's
    /// lower dword holds the low base bits with bit 2 set for a 64-bit BAR
    /// and bit 3 for a prefetchable one, a 64-bit BAR's upper dword holds
    /// the high base bits, and an I/O BAR's dword holds the port with bit 0
    /// set. A `None` slot reads as 0 in both states. The slot after a
    /// 64-bit BAR is taken as its upper dword whatever `bars` holds there,
    /// and a 64-bit BAR in slot 5 is treated as `None`, as [`probe_bars`]
    /// does.
    ///
    /// A `msix_cap` below 0x40 or not dword-aligned cannot be a capability
    /// and is ignored.
    pub fn new(bars: [Option<Bar>; 6], msix_cap: Option<u8>) -> Self {
        let mut bar_value = [0; BAR_COUNT];
        let mut bar_mask = [0; BAR_COUNT];
        let mut slot = 0;
        while slot < BAR_COUNT {
            match bars[slot] {
                Some(Bar::Io { port, size }) => {
                    bar_value[slot] = (port & !BAR_IO_FLAGS) | BAR_IO;
                    bar_mask[slot] = (!size.wrapping_sub(1) & !BAR_IO_FLAGS) | BAR_IO;
                    slot += 1;
                }
                Some(Bar::Memory {
                    base,
                    size,
                    prefetchable,
                    is64,
                }) if !is64 || slot + 1 < BAR_COUNT => {
                    let flags = if is64 {
                        BAR_MEM_TYPE_64
                    } else {
                        BAR_MEM_TYPE_32
                    } | if prefetchable {
                        BAR_MEM_PREFETCHABLE
                    } else {
                        0
                    };
                    let mask = !size.wrapping_sub(1);
                    bar_value[slot] = (base as u32 & !BAR_MEM_FLAGS) | flags;
                    bar_mask[slot] = (mask as u32 & !BAR_MEM_FLAGS) | flags;
                    if is64 {
                        bar_value[slot + 1] = (base >> 32) as u32;
                        bar_mask[slot + 1] = (mask >> 32) as u32;
                        slot += 2;
                    } else {
                        slot += 1;
                    }
                }
                _ => slot += 1,
            }
        }
        Self {
            bar_value,
            bar_mask,
            sizing: [false; BAR_COUNT],
            msix_control: msix_cap
                .filter(|&c| c >= CAP_FIRST_OFFSET && c.is_multiple_of(4))
                .map(u16::from),
        }
    }

    /// The value the driver sees for the dword at `offset`, given that the
    /// hardware holds `hw` there.
    ///
    /// For a BAR dword this is its size mask in sizing state and its
    /// recorded value otherwise, whatever `hw` is; for every other dword it
    /// is `hw`. An `offset` that is not dword-aligned is taken to mean the
    /// dword that contains it.
    pub fn read(&self, offset: u16, hw: u32) -> u32 {
        match bar_slot(offset & !3) {
            Some(slot) if self.sizing[slot] => self.bar_mask[slot],
            Some(slot) => self.bar_value[slot],
            None => hw,
        }
    }

    /// Decides what becomes of the driver writing `value` to the dword at
    /// `offset`, and updates the sizing state.
    ///
    /// - An offset that is not dword-aligned, or not below 256: `Denied`.
    /// - The command/status dword (0x04): `Pass` with only the I/O space,
    ///   memory space, bus master and INTx disable bits of `value` kept.
    ///   The other command bits become 0, and so does the status half;
    ///   status bits are cleared by writing 1, so 0 leaves them alone.
    /// - A BAR dword (0x10 to 0x24): all-ones enters sizing state and the
    ///   recorded value leaves it, both `Absorbed`; any other value is
    ///   `Denied`, since it would move the BAR. If the recorded value is
    ///   itself all-ones, writing it leaves sizing state.
    /// - The MSI-X capability's first dword: `Pass` with only bits 31
    ///   (MSI-X enable) and 30 (function mask) of `value` kept. Its low
    ///   half, the capability ID and next pointer, is read-only.
    /// - Anything else, including the expansion ROM BAR, the interrupt
    ///   line and pin, the header type and BIST, and every other
    ///   capability: `Denied`.
    pub fn write(&mut self, offset: u16, value: u32) -> Write {
        if !offset.is_multiple_of(4) || offset >= FILTER_LIMIT {
            return Write::Denied;
        }
        if offset == REG_COMMAND {
            return Write::Pass(value & CMD_DRIVER_BITS);
        }
        if let Some(slot) = bar_slot(offset) {
            return if value == self.bar_value[slot] {
                self.sizing[slot] = false;
                Write::Absorbed
            } else if value == u32::MAX {
                self.sizing[slot] = true;
                Write::Absorbed
            } else {
                Write::Denied
            };
        }
        if Some(offset) == self.msix_control {
            return Write::Pass(value & MSIX_CONTROL_DRIVER_BITS);
        }
        Write::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// A BAR of a [`FakeFunction`], as the hardware implements it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum FakeBar {
        /// Not implemented: reads 0, ignores writes.
        Unused,
        /// An I/O BAR. With `decode16` the function decodes only 16 bits
        /// of I/O address, so the upper half of the BAR is hardwired to 0.
        Io {
            port: u32,
            size: u32,
            decode16: bool,
        },
        /// A 32-bit memory BAR.
        Mem32 { base: u32, size: u32, pref: bool },
        /// A 64-bit memory BAR, occupying this slot and the next.
        Mem64 { base: u64, size: u64, pref: bool },
    }

    impl FakeBar {
        /// What `probe_bars` should report for this BAR in its own slot.
        fn expected(self) -> Option<Bar> {
            match self {
                FakeBar::Unused => None,
                FakeBar::Io { port, size, .. } => Some(Bar::Io { port, size }),
                FakeBar::Mem32 { base, size, pref } => Some(Bar::Memory {
                    base: u64::from(base),
                    size: u64::from(size),
                    prefetchable: pref,
                    is64: false,
                }),
                FakeBar::Mem64 { base, size, pref } => Some(Bar::Memory {
                    base,
                    size,
                    prefetchable: pref,
                    is64: true,
                }),
            }
        }
    }

    /// One function's configuration space with hardware write semantics:
    /// each dword has a set of writable bits and a set of write-1-to-clear
    /// bits; all other bits ignore writes. A BAR's writable bits are the
    /// address bits at and above its size, so writing all-ones and reading
    /// back yields the size mask, as on real hardware.
    #[derive(Clone, Debug)]
    struct FakeFunction {
        regs: Vec<u32>,
        writable: Vec<u32>,
        write1_clear: Vec<u32>,
        /// Every write, in order.
        log: Vec<(u16, u32)>,
    }

    const DWORDS: usize = CONFIG_SPACE_SIZE as usize / 4;

    impl FakeFunction {
        /// A function with the given identity, command register 0x0007
        /// (I/O, memory, bus master), no BARs and no capabilities.
        fn new(vendor: u16, device: u16, class: [u8; 3], header_type: u8) -> Self {
            let mut f = Self {
                regs: vec![0; DWORDS],
                writable: vec![0; DWORDS],
                write1_clear: vec![0; DWORDS],
                log: Vec::new(),
            };
            let [class, subclass, prog_if] = class;
            f.regs[0] = (u32::from(device) << 16) | u32::from(vendor);
            f.regs[1] = 0x0000_0007;
            f.writable[1] = 0x0000_077f;
            f.write1_clear[1] = 0xf900_0000;
            f.regs[2] = u32::from_be_bytes([class, subclass, prog_if, 0x01]);
            f.regs[3] = u32::from(header_type) << 16;
            // Interrupt pin A, line 11.
            f.regs[0x3c / 4] = 0x0000_010b;
            f.writable[0x3c / 4] = 0x0000_00ff;
            f
        }

        /// A slot with no function: every dword reads all-ones.
        fn absent() -> Self {
            Self {
                regs: vec![u32::MAX; DWORDS],
                writable: vec![0; DWORDS],
                write1_clear: vec![0; DWORDS],
                log: Vec::new(),
            }
        }

        /// Sets a dword's value without going through write semantics.
        fn set(&mut self, offset: u16, value: u32) {
            self.regs[usize::from(offset / 4)] = value;
        }

        fn set_bar(&mut self, slot: usize, bar: FakeBar) {
            let i = usize::from(bar_offset(slot) / 4);
            let (value, writable) = match bar {
                FakeBar::Unused => (0, 0),
                FakeBar::Io {
                    port,
                    size,
                    decode16,
                } => {
                    assert!(size.is_power_of_two() && size >= 4 && port.is_multiple_of(size));
                    let writable = !(size - 1) & if decode16 { 0xffff } else { u32::MAX };
                    (port | 1, writable)
                }
                FakeBar::Mem32 { base, size, pref } => {
                    assert!(size.is_power_of_two() && size >= 16 && base.is_multiple_of(size));
                    (base | if pref { 8 } else { 0 }, !(size - 1))
                }
                FakeBar::Mem64 { base, size, pref } => {
                    assert!(slot < 5 && size.is_power_of_two() && size >= 16);
                    assert!(base.is_multiple_of(size));
                    let mask = !(size - 1);
                    self.regs[i + 1] = (base >> 32) as u32;
                    self.writable[i + 1] = (mask >> 32) as u32;
                    (
                        base as u32 | 4 | if pref { 8 } else { 0 },
                        mask as u32 & !0xf,
                    )
                }
            };
            self.regs[i] = value;
            self.writable[i] = writable;
        }

        /// Installs a capability list. Each entry is `(offset, id, next,
        /// rest)`, where `rest` is the high half of the capability's
        /// first dword. The head pointer is the first entry's offset.
        fn set_caps(&mut self, caps: &[(u8, u8, u8, u16)]) {
            self.regs[1] |= STATUS_CAP_LIST;
            self.set(REG_CAP_PTR, u32::from(caps[0].0));
            for &(offset, id, next, rest) in caps {
                self.set(
                    u16::from(offset),
                    (u32::from(rest) << 16) | (u32::from(next) << 8) | u32::from(id),
                );
            }
        }

        fn bar_regs(&self) -> [u32; 6] {
            core::array::from_fn(|slot| self.regs[usize::from(bar_offset(slot) / 4)])
        }
    }

    impl ConfigSpace for FakeFunction {
        fn read32(&self, offset: u16) -> u32 {
            assert!(
                offset.is_multiple_of(4) && offset < CONFIG_SPACE_SIZE,
                "bad read {offset:#x}"
            );
            self.regs[usize::from(offset / 4)]
        }

        fn write32(&mut self, offset: u16, value: u32) {
            assert!(
                offset.is_multiple_of(4) && offset < CONFIG_SPACE_SIZE,
                "bad write {offset:#x}"
            );
            self.log.push((offset, value));
            let i = usize::from(offset / 4);
            let w = self.writable[i];
            self.regs[i] = (self.regs[i] & !w) | (value & w);
            self.regs[i] &= !(value & self.write1_clear[i]);
        }
    }

    /// Offset of the MSI-X capability in the fixtures.
    const MSIX_AT: u8 = 0x98;

    /// The capability list QEMU gives virtio PCI devices: MSI-X first,
    /// then five vendor-specific (0x09) virtio capabilities. MSI-X has 3
    /// vectors, table at offset 0 and PBA at offset 0x800 of BAR 1.
    fn install_virtio_caps(f: &mut FakeFunction, with_msix: bool) {
        let vendor_caps = [
            (0x84, 0x09, 0x70, 0x0014),
            (0x70, 0x09, 0x60, 0x0014),
            (0x60, 0x09, 0x50, 0x0010),
            (0x50, 0x09, 0x40, 0x0010),
            (0x40, 0x09, 0x00, 0x0010),
        ];
        if with_msix {
            let mut caps = vec![(MSIX_AT, CAP_MSIX, 0x84, 0x0002)];
            caps.extend_from_slice(&vendor_caps);
            f.set_caps(&caps);
            f.set(u16::from(MSIX_AT) + 4, 0x0000_0001);
            f.set(u16::from(MSIX_AT) + 8, 0x0000_0801);
            f.writable[usize::from(MSIX_AT / 4)] = MSIX_CONTROL_DRIVER_BITS;
        } else {
            f.set_caps(&vendor_caps);
        }
    }

    /// The BARs of QEMU's virtio-gpu-pci: BAR 1 is 4 KiB of 32-bit memory
    /// (MSI-X), BAR 4 is 16 KiB of 64-bit prefetchable memory (the virtio
    /// structures).
    fn virtio_gpu_bars() -> [FakeBar; 6] {
        let mut bars = [FakeBar::Unused; 6];
        bars[1] = FakeBar::Mem32 {
            base: 0xfebd_1000,
            size: 0x1000,
            pref: false,
        };
        bars[4] = FakeBar::Mem64 {
            base: 0xfe00_0000,
            size: 0x4000,
            pref: true,
        };
        bars
    }

    fn fake_with(bars: [FakeBar; 6], with_msix: bool) -> FakeFunction {
        let mut f = FakeFunction::new(0x1af4, 0x1050, [0x03, 0x00, 0x00], 0);
        for (slot, bar) in bars.into_iter().enumerate() {
            if bar != FakeBar::Unused {
                f.set_bar(slot, bar);
            }
        }
        install_virtio_caps(&mut f, with_msix);
        f
    }

    fn virtio_gpu() -> FakeFunction {
        fake_with(virtio_gpu_bars(), true)
    }

    /// A transitional virtio-net: a 32-port I/O BAR 0 at 0xc040 besides
    /// the modern memory BARs.
    fn virtio_net(decode16: bool) -> FakeFunction {
        let mut bars = virtio_gpu_bars();
        bars[0] = FakeBar::Io {
            port: 0xc040,
            size: 0x20,
            decode16,
        };
        let mut f = fake_with(bars, true);
        f.set(REG_ID, 0x1000_1af4);
        f
    }

    fn expected_bars(bars: [FakeBar; 6]) -> [Option<Bar>; 6] {
        let mut out = [None; 6];
        let mut slot = 0;
        while slot < 6 {
            out[slot] = bars[slot].expected();
            slot += if matches!(bars[slot], FakeBar::Mem64 { .. }) {
                2
            } else {
                1
            };
        }
        out
    }

    #[test]
    fn ecam_offset_packs_bus_device_function() {
        assert_eq!(ecam_offset(0, 0, 0), 0);
        assert_eq!(ecam_offset(0, 0, 1), 0x1000);
        assert_eq!(ecam_offset(0, 1, 0), 0x8000);
        assert_eq!(ecam_offset(1, 0, 0), 0x10_0000);
        assert_eq!(ecam_offset(0x12, 0x1f, 7), 0x12f_f000);
        assert_eq!(ecam_offset(0xff, 0x1f, 7), 0xfff_f000);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not below 32")]
    fn ecam_offset_rejects_device_32_in_debug() {
        ecam_offset(0, 32, 0);
    }

    #[test]
    fn read_header_parses_identity() {
        let f = virtio_gpu();
        assert_eq!(
            read_header(&f),
            Some(Header {
                vendor: 0x1af4,
                device: 0x1050,
                class: 0x03,
                subclass: 0x00,
                prog_if: 0x00,
                header_type: 0,
                multifunction: false,
            })
        );
        // An xHCI controller on function 0 of a multifunction device.
        let f = FakeFunction::new(0x8086, 0xa36d, [0x0c, 0x03, 0x30], 0x80);
        let h = read_header(&f).unwrap();
        assert_eq!((h.vendor, h.device), (0x8086, 0xa36d));
        assert_eq!((h.class, h.subclass, h.prog_if), (0x0c, 0x03, 0x30));
        assert_eq!(h.header_type, 0);
        assert!(h.multifunction);
        // A PCI-to-PCI bridge.
        let f = FakeFunction::new(0x1b36, 0x000c, [0x06, 0x04, 0x00], 0x01);
        let h = read_header(&f).unwrap();
        assert_eq!((h.header_type, h.multifunction), (1, false));
    }

    #[test]
    fn read_header_none_for_empty_slot() {
        assert_eq!(read_header(&FakeFunction::absent()), None);
    }

    #[test]
    fn probe_bars_virtio_gpu() {
        let mut f = virtio_gpu();
        assert_eq!(
            probe_bars(&mut f),
            [
                None,
                Some(Bar::Memory {
                    base: 0xfebd_1000,
                    size: 0x1000,
                    prefetchable: false,
                    is64: false,
                }),
                None,
                None,
                Some(Bar::Memory {
                    base: 0xfe00_0000,
                    size: 0x4000,
                    prefetchable: true,
                    is64: true,
                }),
                None,
            ]
        );
    }

    #[test]
    fn probe_bars_io_bar() {
        for decode16 in [false, true] {
            let mut f = virtio_net(decode16);
            let bars = probe_bars(&mut f);
            assert_eq!(
                bars[0],
                Some(Bar::Io {
                    port: 0xc040,
                    size: 0x20
                }),
                "decode16 = {decode16}"
            );
            assert!(matches!(bars[1], Some(Bar::Memory { size: 0x1000, .. })));
        }
    }

    #[test]
    fn probe_bars_large_64bit_bar_above_4g() {
        let mut bars = [FakeBar::Unused; 6];
        bars[0] = FakeBar::Mem64 {
            base: 0x80_0000_0000,
            size: 0x2_0000_0000,
            pref: true,
        };
        bars[2] = FakeBar::Mem64 {
            base: 0x1_2345_0000,
            size: 0x1_0000,
            pref: false,
        };
        let mut f = fake_with(bars, false);
        assert_eq!(probe_bars(&mut f), expected_bars(bars));
    }

    #[test]
    fn probe_bars_restores_registers_and_status() {
        let mut f = virtio_net(false);
        // SERR and parity-error response enabled, and the status register
        // reporting a received master abort, which writing 1 would clear.
        f.set(REG_COMMAND, STATUS_CAP_LIST | 0x2000_0000 | 0x0147);
        let before = f.regs.clone();
        probe_bars(&mut f);
        assert_eq!(f.regs, before);
        // Decoding was off while the BARs held all-ones, and no write to
        // the command dword carried a status bit.
        let command_writes: Vec<u32> = f
            .log
            .iter()
            .filter(|&&(o, _)| o == REG_COMMAND)
            .map(|&(_, v)| v)
            .collect();
        assert_eq!(command_writes, [0x0144, 0x0147]);
        let first_bar_write = f.log.iter().position(|&(o, _)| o != REG_COMMAND).unwrap();
        let last_bar_write = f.log.iter().rposition(|&(o, _)| o != REG_COMMAND).unwrap();
        assert_eq!(f.log[first_bar_write - 1].0, REG_COMMAND);
        assert_eq!(f.log[last_bar_write + 1].0, REG_COMMAND);
        // Only BAR dwords were written besides the command register.
        assert!(
            f.log
                .iter()
                .all(|&(o, _)| o == REG_COMMAND || bar_slot(o).is_some())
        );
    }

    #[test]
    fn probe_bars_without_decode_enabled_leaves_command_alone() {
        let mut f = virtio_gpu();
        f.set(REG_COMMAND, STATUS_CAP_LIST | 0x0004);
        let before = f.regs.clone();
        assert_eq!(probe_bars(&mut f), expected_bars(virtio_gpu_bars()));
        assert_eq!(f.regs, before);
        assert!(f.log.iter().all(|&(o, _)| o != REG_COMMAND));
    }

    /// A function with a 32-bit BAR 4 and a BAR 5 that claims to be 64-bit
    /// memory, though there is no sixth dword for its upper half.
    fn slot_5_fixture() -> FakeFunction {
        let mut bars = virtio_gpu_bars();
        bars[4] = FakeBar::Mem32 {
            base: 0xfe00_0000,
            size: 0x4000,
            pref: false,
        };
        let mut f = fake_with(bars, true);
        f.set(REG_BAR5, 0xfd00_0004);
        f.writable[usize::from(REG_BAR5 / 4)] = 0xffff_c000;
        f
    }

    #[test]
    fn probe_bars_64bit_in_slot_5_is_none() {
        let mut f = slot_5_fixture();
        let before = f.regs.clone();
        let bars = probe_bars(&mut f);
        assert_eq!(bars[5], None);
        assert!(bars[4].is_some());
        assert_eq!(f.regs, before);
        assert!(f.log.iter().all(|&(o, _)| o != REG_BAR5 && o != 0x28));
    }

    #[test]
    fn probe_bars_reserved_memory_type_is_none() {
        let mut f = virtio_gpu();
        // BAR 0 with memory type 0b11, which is reserved.
        f.set(REG_BAR0, 0xfc00_0006);
        f.writable[usize::from(REG_BAR0 / 4)] = 0xffff_f000;
        let bars = probe_bars(&mut f);
        assert_eq!(bars[0], None);
        assert_eq!(bars[1], expected_bars(virtio_gpu_bars())[1]);
        assert!(f.log.iter().all(|&(o, _)| o != REG_BAR0));
    }

    #[test]
    fn probe_bars_leaves_bridges_and_empty_slots_alone() {
        let mut bridge = FakeFunction::new(0x1b36, 0x000c, [0x06, 0x04, 0x00], 0x01);
        // Primary, secondary and subordinate bus numbers at 0x18.
        bridge.set(0x18, 0x0002_0100);
        bridge.writable[0x18 / 4] = 0x00ff_ffff;
        assert_eq!(probe_bars(&mut bridge), [None; 6]);
        assert!(bridge.log.is_empty());

        let mut absent = FakeFunction::absent();
        assert_eq!(probe_bars(&mut absent), [None; 6]);
        assert!(absent.log.is_empty());
    }

    #[test]
    fn capabilities_walks_list_in_order() {
        let f = virtio_gpu();
        let caps: Vec<_> = capabilities(&f).collect();
        assert_eq!(
            caps,
            [
                (CAP_MSIX, 0x98),
                (0x09, 0x84),
                (0x09, 0x70),
                (0x09, 0x60),
                (0x09, 0x50),
                (0x09, 0x40),
            ]
        );
    }

    #[test]
    fn capabilities_need_status_bit() {
        let mut f = virtio_gpu();
        f.regs[1] &= !STATUS_CAP_LIST;
        assert_eq!(capabilities(&f).count(), 0);
        assert_eq!(msix(&f), None);
    }

    #[test]
    fn capabilities_ignore_reserved_pointer_bits() {
        let mut f = virtio_gpu();
        f.set(REG_CAP_PTR, 0x9b);
        // Next pointer of the MSI-X capability with its low bits set.
        f.set(0x98, 0x0002_8611);
        let caps: Vec<_> = capabilities(&f).take(3).collect();
        assert_eq!(caps, [(CAP_MSIX, 0x98), (0x09, 0x84), (0x09, 0x70)]);
    }

    #[test]
    fn capabilities_stop_at_pointer_into_header() {
        let mut f = virtio_gpu();
        // The capability at 0x70 points into the standard header.
        f.set(0x70, 0x0014_3c09);
        let caps: Vec<_> = capabilities(&f).collect();
        assert_eq!(caps, [(CAP_MSIX, 0x98), (0x09, 0x84), (0x09, 0x70)]);
    }

    #[test]
    fn capabilities_looped_list_ends() {
        let mut f = FakeFunction::new(0x1af4, 0x1050, [0x03, 0x00, 0x00], 0);
        f.set_caps(&[(0x40, 0x09, 0x50, 0), (0x50, 0x05, 0x40, 0)]);
        let caps: Vec<_> = capabilities(&f).collect();
        assert_eq!(caps.len(), 48);
        assert!(
            caps.chunks(2)
                .all(|pair| pair == [(0x09, 0x40), (0x05, 0x50)])
        );
        assert_eq!(msix(&f), None);

        // A capability that points to itself.
        let mut f = FakeFunction::new(0x1af4, 0x1050, [0x03, 0x00, 0x00], 0);
        f.set_caps(&[(0xfc, 0x09, 0xfc, 0)]);
        assert_eq!(capabilities(&f).count(), 48);
    }

    #[test]
    fn msix_reads_table_and_pba() {
        assert_eq!(
            msix(&virtio_gpu()),
            Some(MsixInfo {
                cap_offset: 0x98,
                table_size: 3,
                table_bar: 1,
                table_offset: 0,
                pba_bar: 1,
                pba_offset: 0x800,
            })
        );
        let mut f = virtio_gpu();
        // 2048 vectors, table in BAR 4 at 0x3000, PBA in BAR 0 at 0x1000.
        f.set(0x98, 0x07ff_8411);
        f.set(0x9c, 0x0000_3004);
        f.set(0xa0, 0x0000_1000);
        assert_eq!(
            msix(&f),
            Some(MsixInfo {
                cap_offset: 0x98,
                table_size: 2048,
                table_bar: 4,
                table_offset: 0x3000,
                pba_bar: 0,
                pba_offset: 0x1000,
            })
        );
    }

    #[test]
    fn msix_none_without_capability_or_with_bad_bar() {
        assert_eq!(msix(&fake_with(virtio_gpu_bars(), false)), None);
        let mut f = virtio_gpu();
        f.set(0x9c, 0x0000_0006);
        assert_eq!(msix(&f), None);
        let mut f = virtio_gpu();
        f.set(0xa0, 0x0000_0807);
        assert_eq!(msix(&f), None);
        // An MSI-X capability too close to the end of the header.
        let mut f = FakeFunction::new(0x1af4, 0x1050, [0x03, 0x00, 0x00], 0);
        f.set_caps(&[(0xf8, CAP_MSIX, 0, 0)]);
        assert_eq!(msix(&f), None);
    }

    #[test]
    fn match_parse_accepts_each_form() {
        assert_eq!(
            Match::parse("1af4:1050"),
            Ok(Match::Id {
                vendor: 0x1af4,
                device: 0x1050
            })
        );
        assert_eq!(
            Match::parse("8086:A36D"),
            Ok(Match::Id {
                vendor: 0x8086,
                device: 0xa36d
            })
        );
        assert_eq!(
            Match::parse("1b36:d"),
            Ok(Match::Id {
                vendor: 0x1b36,
                device: 0x000d
            })
        );
        assert_eq!(Match::parse("1af4:*"), Ok(Match::Vendor(0x1af4)));
        assert_eq!(
            Match::parse("class:03"),
            Ok(Match::Class {
                class: 0x03,
                subclass: None
            })
        );
        assert_eq!(
            Match::parse("class:0c.3"),
            Ok(Match::Class {
                class: 0x0c,
                subclass: Some(0x03)
            })
        );
        assert_eq!(
            "class:03.00".parse::<Match>(),
            Ok(Match::Class {
                class: 0x03,
                subclass: Some(0x00)
            })
        );
    }

    #[test]
    fn match_parse_rejects_malformed() {
        let cases = [
            (
                "",
                "PCI match must be vendor:device, vendor:*, class:CC or class:CC.SS",
            ),
            (
                "1af4",
                "PCI match must be vendor:device, vendor:*, class:CC or class:CC.SS",
            ),
            (
                "class",
                "PCI match must be vendor:device, vendor:*, class:CC or class:CC.SS",
            ),
            (":1050", "PCI vendor ID must be 1 to 4 hex digits"),
            ("1af4:", "PCI device ID must be 1 to 4 hex digits or *"),
            ("1af40:1050", "PCI vendor ID must be 1 to 4 hex digits"),
            ("1af4:10500", "PCI device ID must be 1 to 4 hex digits or *"),
            ("0x1af4:1050", "PCI vendor ID must be 1 to 4 hex digits"),
            ("+1af4:1050", "PCI vendor ID must be 1 to 4 hex digits"),
            (" 1af4:1050", "PCI vendor ID must be 1 to 4 hex digits"),
            ("1af4:1050 ", "PCI device ID must be 1 to 4 hex digits or *"),
            (
                "1af4:1050:0",
                "PCI device ID must be 1 to 4 hex digits or *",
            ),
            ("1af4:**", "PCI device ID must be 1 to 4 hex digits or *"),
            ("*:1050", "PCI vendor ID must be 1 to 4 hex digits"),
            ("g000:1050", "PCI vendor ID must be 1 to 4 hex digits"),
            (
                "ffff:*",
                "PCI vendor ID ffff means an empty slot and matches nothing",
            ),
            (
                "FFFF:1050",
                "PCI vendor ID ffff means an empty slot and matches nothing",
            ),
            ("class:", "PCI class must be 1 or 2 hex digits"),
            ("class:003", "PCI class must be 1 or 2 hex digits"),
            ("class:.00", "PCI class must be 1 or 2 hex digits"),
            ("class:03.", "PCI subclass must be 1 or 2 hex digits"),
            ("class:03.000", "PCI subclass must be 1 or 2 hex digits"),
            ("class:03.00.1", "PCI subclass must be 1 or 2 hex digits"),
            ("class:0x3", "PCI class must be 1 or 2 hex digits"),
            ("CLASS:03", "PCI vendor ID must be 1 to 4 hex digits"),
        ];
        for (input, error) in cases {
            assert_eq!(Match::parse(input), Err(error), "input {input:?}");
        }
    }

    #[test]
    fn match_matches_header() {
        let gpu = read_header(&virtio_gpu()).unwrap();
        let net = read_header(&virtio_net(false)).unwrap();
        let parse = |s| Match::parse(s).unwrap();
        assert!(parse("1af4:1050").matches(&gpu));
        assert!(!parse("1af4:1050").matches(&net));
        assert!(!parse("1af5:1050").matches(&gpu));
        assert!(parse("1af4:*").matches(&gpu));
        assert!(parse("1af4:*").matches(&net));
        assert!(!parse("8086:*").matches(&gpu));
        assert!(parse("class:03").matches(&gpu));
        assert!(parse("class:03.00").matches(&gpu));
        assert!(!parse("class:03.80").matches(&gpu));
        assert!(!parse("class:02").matches(&gpu));
        let xhci = Header {
            class: 0x0c,
            subclass: 0x03,
            prog_if: 0x30,
            ..gpu
        };
        assert!(parse("class:c.3").matches(&xhci));
        assert!(!parse("class:0c.00").matches(&xhci));
    }

    #[test]
    fn match_encoding_layout() {
        let cases = [
            ("1af4:1050", [1, 0xf4, 0x1a, 0x50, 0x10, 0]),
            ("8086:*", [2, 0x86, 0x80, 0, 0, 0]),
            ("class:03", [3, 0x03, 0, 0, 0, 0]),
            ("class:0c.03", [3, 0x0c, 1, 0x03, 0, 0]),
            ("class:0c.00", [3, 0x0c, 1, 0x00, 0, 0]),
        ];
        for (text, bytes) in cases {
            let m = Match::parse(text).unwrap();
            assert_eq!(m.encode(), bytes, "{text}");
            assert_eq!(Match::decode(&bytes), Some(m), "{text}");
        }
    }

    #[test]
    fn match_decode_rejects_malformed() {
        let bad: [&[u8]; 12] = [
            &[],
            &[1, 0xf4, 0x1a, 0x50, 0x10],
            &[1, 0xf4, 0x1a, 0x50, 0x10, 0, 0],
            &[0, 0, 0, 0, 0, 0],
            &[4, 0xf4, 0x1a, 0, 0, 0],
            &[0xff, 0xf4, 0x1a, 0, 0, 0],
            &[1, 0xf4, 0x1a, 0x50, 0x10, 1],
            &[2, 0xf4, 0x1a, 0x50, 0, 0],
            &[2, 0xf4, 0x1a, 0, 0, 0x80],
            &[3, 0x03, 2, 0, 0, 0],
            &[3, 0x03, 0, 0x01, 0, 0],
            &[3, 0x03, 1, 0x01, 0, 0x01],
        ];
        for b in bad {
            assert_eq!(Match::decode(b), None, "{b:?}");
        }
    }

    fn any_match() -> impl Strategy<Value = Match> {
        prop_oneof![
            (any::<u16>(), any::<u16>()).prop_map(|(vendor, device)| Match::Id { vendor, device }),
            any::<u16>().prop_map(Match::Vendor),
            (any::<u8>(), any::<Option<u8>>())
                .prop_map(|(class, subclass)| Match::Class { class, subclass }),
        ]
    }

    /// The text form of `m`, written independently of `parse`.
    fn match_text(m: Match) -> alloc::string::String {
        match m {
            Match::Id { vendor, device } => alloc::format!("{vendor:04x}:{device:x}"),
            Match::Vendor(vendor) => alloc::format!("{vendor:X}:*"),
            Match::Class {
                class,
                subclass: None,
            } => alloc::format!("class:{class:02x}"),
            Match::Class {
                class,
                subclass: Some(s),
            } => alloc::format!("class:{class:x}.{s:02X}"),
        }
    }

    proptest! {
        #[test]
        fn match_encode_decode_round_trip(m in any_match()) {
            prop_assert_eq!(Match::decode(&m.encode()), Some(m));
        }

        #[test]
        fn match_text_round_trip(m in any_match()) {
            let text = match_text(m);
            let vendor = match m {
                Match::Id { vendor, .. } | Match::Vendor(vendor) => Some(vendor),
                Match::Class { .. } => None,
            };
            if vendor == Some(0xffff) {
                prop_assert!(Match::parse(&text).is_err());
            } else {
                prop_assert_eq!(Match::parse(&text), Ok(m));
            }
        }

        #[test]
        fn match_decode_accepts_only_encodings(b in prop::array::uniform6(0u8..5)) {
            if let Some(m) = Match::decode(&b) {
                prop_assert_eq!(m.encode(), b);
            }
        }
    }

    #[test]
    fn filter_command_passes_only_decode_master_intx() {
        let mut filter = ConfigFilter::new([None; 6], None);
        assert_eq!(filter.write(0x04, 0xffff_ffff), Write::Pass(0x0000_0407));
        assert_eq!(filter.write(0x04, 0x0000_0006), Write::Pass(0x0000_0006));
        assert_eq!(filter.write(0x04, 0xf900_0147), Write::Pass(0x0000_0007));
        assert_eq!(filter.write(0x04, 0x0000_0400), Write::Pass(0x0000_0400));
        assert_eq!(filter.write(0x04, 0), Write::Pass(0));
        // The command register is read unfiltered.
        assert_eq!(filter.read(0x04, 0x0010_0147), 0x0010_0147);
    }

    #[test]
    fn filter_bar_sizing_and_restore() {
        let mut hw = virtio_net(false);
        let bars = probe_bars(&mut hw);
        let mut filter = ConfigFilter::new(bars, Some(MSIX_AT));
        let original = hw.bar_regs();
        assert_eq!(original, [0x0000_c041, 0xfebd_1000, 0, 0, 0xfe00_000c, 0]);
        let sizing = [0xffff_ffe1, 0xffff_f000, 0, 0, 0xffff_c00c, 0xffff_ffff];
        for slot in 0..6 {
            let offset = bar_offset(slot);
            assert_eq!(filter.read(offset, original[slot]), original[slot]);
            assert_eq!(filter.write(offset, 0xffff_ffff), Write::Absorbed);
            assert_eq!(
                filter.read(offset, original[slot]),
                sizing[slot],
                "slot {slot}"
            );
            // Other BARs are not affected.
            for other in (0..6).filter(|&o| o != slot) {
                assert_eq!(filter.read(bar_offset(other), 0), original[other]);
            }
            assert_eq!(filter.write(offset, original[slot]), Write::Absorbed);
            assert_eq!(filter.read(offset, original[slot]), original[slot]);
        }
        // Sizing state survives a denied write and repeated all-ones.
        assert_eq!(filter.write(0x14, 0xffff_ffff), Write::Absorbed);
        assert_eq!(filter.write(0x14, 0x1234_5000), Write::Denied);
        assert_eq!(filter.write(0x14, 0xffff_ffff), Write::Absorbed);
        assert_eq!(filter.read(0x14, 0xfebd_1000), 0xffff_f000);
        // An unaligned read inside the BAR dword sees the same thing.
        assert_eq!(filter.read(0x16, 0xfebd_1000), 0xffff_f000);
    }

    #[test]
    fn filter_bar_denies_moves() {
        let mut hw = virtio_net(false);
        let mut filter = ConfigFilter::new(probe_bars(&mut hw), Some(MSIX_AT));
        let moves = [
            (0x10, 0x0000_c061),
            (0x10, 0x0000_c040),
            (0x14, 0xfebd_2000),
            (0x14, 0x0000_0000),
            (0x14, 0xffff_f000),
            (0x18, 0xfe00_0000),
            (0x20, 0xfe00_4004),
            (0x20, 0xfe00_0004),
            (0x24, 0x0000_0001),
            (0x24, 0xffff_fffe),
        ];
        for (offset, value) in moves {
            assert_eq!(
                filter.write(offset, value),
                Write::Denied,
                "{offset:#x} {value:#x}"
            );
        }
        // An unused BAR has recorded value 0, so writing 0 is a restore.
        assert_eq!(filter.write(0x18, 0), Write::Absorbed);
    }

    #[test]
    fn filter_hides_bars_the_kernel_does_not_use() {
        // probe_bars drops the 64-bit BAR 5, so the driver sees an
        // unimplemented BAR.
        let mut hw = slot_5_fixture();
        let bars = probe_bars(&mut hw);
        let mut filter = ConfigFilter::new(bars, None);
        assert_eq!(filter.read(REG_BAR5, 0xfd00_0004), 0);
        assert_eq!(filter.write(REG_BAR5, 0xffff_ffff), Write::Absorbed);
        assert_eq!(filter.read(REG_BAR5, 0xfd00_0004), 0);
        assert_eq!(filter.write(REG_BAR5, 0xfd00_0004), Write::Denied);
        assert_eq!(filter.write(REG_BAR5, 0), Write::Absorbed);

        // A 64-bit BAR handed to `new` in slot 5 is dropped the same way.
        let mut bars = [None; 6];
        bars[5] = Some(Bar::Memory {
            base: 0xfd00_0000,
            size: 0x4000,
            prefetchable: false,
            is64: true,
        });
        assert_eq!(ConfigFilter::new(bars, None).read(REG_BAR5, 0xfd00_0004), 0);
    }

    #[test]
    fn filter_denies_everything_else() {
        let mut hw = virtio_net(false);
        let mut filter = ConfigFilter::new(probe_bars(&mut hw), Some(MSIX_AT));
        let denied = [
            0x00u16, 0x01, 0x02, 0x05, 0x06, 0x08, 0x0c, 0x11, 0x28, 0x2c, 0x30, 0x34, 0x38, 0x3c,
            0x3d, 0x40, 0x84, 0x99, 0x9a, 0x9c, 0xa0, 0xfc, 0x100, 0x104, 0xffc, 0xffff,
        ];
        for offset in denied {
            for value in [0, 1, 0xffff_ffff, 0xc000_0000] {
                assert_eq!(filter.write(offset, value), Write::Denied, "{offset:#x}");
            }
        }
        // Other dwords are read unfiltered.
        assert_eq!(filter.read(0x30, 0xfeb8_0000), 0xfeb8_0000);
        assert_eq!(filter.read(0x3c, 0x0000_010b), 0x0000_010b);
        assert_eq!(filter.read(0x98, 0x8002_8411), 0x8002_8411);
    }

    #[test]
    fn filter_msix_control_passes_enable_and_mask_only() {
        let mut filter = ConfigFilter::new([None; 6], Some(MSIX_AT));
        assert_eq!(filter.write(0x98, 0xffff_ffff), Write::Pass(0xc000_0000));
        assert_eq!(filter.write(0x98, 0x8002_8411), Write::Pass(0x8000_0000));
        assert_eq!(filter.write(0x98, 0x4000_0000), Write::Pass(0x4000_0000));
        assert_eq!(filter.write(0x98, 0x3fff_ffff), Write::Pass(0));
        assert_eq!(filter.write(0x9c, 0x8000_0000), Write::Denied);

        let mut filter = ConfigFilter::new([None; 6], None);
        assert_eq!(filter.write(0x98, 0x8000_0000), Write::Denied);
        // Offsets that cannot be capabilities are ignored.
        for cap in [0x04, 0x10, 0x3c, 0x99] {
            let mut filter = ConfigFilter::new([None; 6], Some(cap));
            assert_ne!(
                filter.write(u16::from(cap), 0xc000_0000),
                Write::Pass(0xc000_0000)
            );
        }
    }

    /// A function as its driver sees it: every access goes through the
    /// filter, and `Pass` values are written to the fake hardware.
    struct Filtered {
        hw: FakeFunction,
        filter: ConfigFilter,
        denied: Vec<(u16, u32)>,
    }

    impl ConfigSpace for Filtered {
        fn read32(&self, offset: u16) -> u32 {
            self.filter.read(offset, self.hw.read32(offset))
        }

        fn write32(&mut self, offset: u16, value: u32) {
            match self.filter.write(offset, value) {
                Write::Pass(v) => self.hw.write32(offset, v),
                Write::Absorbed => {}
                Write::Denied => self.denied.push((offset, value)),
            }
        }
    }

    /// `PciRoot::bar_info` of virtio-drivers 0.13, step for step. The only
    /// change is that it returns this module's [`Bar`] and treats the
    /// below-1-MiB memory type, which the fakes never use, as invalid.
    fn virtio_bar_info(cs: &mut impl ConfigSpace, bar_index: u8) -> Result<Option<Bar>, ()> {
        // `Command::from_bits_truncate` keeps the defined command bits.
        let command_orig = cs.read32(0x04) & 0x077f;
        let command_disable_decode = command_orig & !0b11;
        if command_disable_decode != command_orig {
            cs.write32(0x04, command_disable_decode);
        }
        let offset = 0x10 + 4 * u16::from(bar_index);
        let bar_orig = cs.read32(offset);
        let io_space = bar_orig & 1 == 1;
        cs.write32(offset, 0xffff_ffff);
        let mut size_mask = u64::from(cs.read32(offset));
        let (address_top, size_top) = if bar_orig & 0b111 == 0b100 {
            if bar_index >= 5 {
                return Err(());
            }
            let bar_top_orig = cs.read32(offset + 4);
            cs.write32(offset + 4, 0xffff_ffff);
            let size_top = cs.read32(offset + 4);
            cs.write32(offset + 4, bar_top_orig);
            (bar_top_orig, size_top)
        } else {
            (0, if size_mask == 0 { 0 } else { 0xffff_ffff })
        };
        size_mask |= u64::from(size_top) << 32;
        let flag_bits = if io_space { 0b11 } else { 0b1111 };
        let size = (!(size_mask & !flag_bits)).wrapping_add(1);
        cs.write32(offset, bar_orig);
        if command_disable_decode != command_orig {
            cs.write32(0x04, command_orig);
        }
        if size_mask == 0 {
            Ok(None)
        } else if io_space {
            Ok(Some(Bar::Io {
                port: bar_orig & 0xffff_fffc,
                size: size as u32,
            }))
        } else {
            let is64 = match (bar_orig & 0b110) >> 1 {
                0 => false,
                2 => true,
                _ => return Err(()),
            };
            Ok(Some(Bar::Memory {
                base: u64::from(bar_orig & 0xffff_fff0) | (u64::from(address_top) << 32),
                size,
                prefetchable: bar_orig & 0b1000 != 0,
                is64,
            }))
        }
    }

    /// `PciRoot::bars` of virtio-drivers 0.13.
    fn virtio_bars(cs: &mut impl ConfigSpace) -> Result<[Option<Bar>; 6], ()> {
        let mut bars = [None; 6];
        let mut bar_index = 0;
        while bar_index < 6 {
            let info = virtio_bar_info(cs, bar_index)?;
            let entries = if matches!(info, Some(Bar::Memory { is64: true, .. })) {
                2
            } else {
                1
            };
            bars[usize::from(bar_index)] = info;
            bar_index += entries;
        }
        Ok(bars)
    }

    /// Runs virtio-drivers' BAR probe on `hw` directly and through a
    /// filter built from `probe_bars`, and checks that both report the
    /// layout `expected` and leave the hardware as it was.
    fn check_virtio_probe_through_filter(mut hw: FakeFunction, expected: [Option<Bar>; 6]) {
        let probed = probe_bars(&mut hw);
        assert_eq!(probed, expected);
        hw.log.clear();
        let before = hw.regs.clone();

        let mut direct = hw.clone();
        assert_eq!(virtio_bars(&mut direct), Ok(expected));
        assert_eq!(direct.regs, before);

        let mut filtered = Filtered {
            filter: ConfigFilter::new(probed, msix(&hw).map(|m| m.cap_offset)),
            hw,
            denied: Vec::new(),
        };
        assert_eq!(virtio_bars(&mut filtered), Ok(expected));
        assert_eq!(filtered.denied, []);
        assert_eq!(filtered.hw.regs, before);
        assert!(filtered.hw.log.iter().all(|&(o, _)| o == REG_COMMAND));
        // Every BAR was restored: no dword is left in sizing state.
        for slot in 0..6 {
            let offset = bar_offset(slot);
            assert_eq!(filtered.read32(offset), before[usize::from(offset / 4)]);
        }
    }

    #[test]
    fn filter_virtio_drivers_probe_sees_hardware_sizes() {
        check_virtio_probe_through_filter(virtio_gpu(), expected_bars(virtio_gpu_bars()));
        let mut bars = virtio_gpu_bars();
        bars[0] = FakeBar::Io {
            port: 0xc040,
            size: 0x20,
            decode16: false,
        };
        check_virtio_probe_through_filter(virtio_net(false), expected_bars(bars));
    }

    fn fake_bar() -> impl Strategy<Value = FakeBar> {
        prop_oneof![
            Just(FakeBar::Unused),
            (2u32..=8, any::<u32>()).prop_map(|(bits, r)| {
                let size = 1 << bits;
                FakeBar::Io {
                    port: r & 0xffff & !(size - 1),
                    size,
                    decode16: false,
                }
            }),
            (4u32..=31, any::<u32>(), any::<bool>()).prop_map(|(bits, r, pref)| {
                let size = 1 << bits;
                FakeBar::Mem32 {
                    base: r & !(size - 1),
                    size,
                    pref,
                }
            }),
            (4u32..=40, any::<u64>(), any::<bool>()).prop_map(|(bits, r, pref)| {
                let size = 1 << bits;
                FakeBar::Mem64 {
                    base: r & 0x0000_ffff_ffff_ffff & !(size - 1),
                    size,
                    pref,
                }
            }),
        ]
    }

    /// Six BAR slots in which every 64-bit BAR has a free slot after it.
    fn bar_layout() -> impl Strategy<Value = [FakeBar; 6]> {
        prop::array::uniform6(fake_bar()).prop_map(|mut bars| {
            let mut slot = 0;
            while slot < 6 {
                if matches!(bars[slot], FakeBar::Mem64 { .. }) {
                    if slot == 5 {
                        bars[5] = FakeBar::Unused;
                    } else {
                        bars[slot + 1] = FakeBar::Unused;
                        slot += 1;
                    }
                }
                slot += 1;
            }
            bars
        })
    }

    /// A value for a driver write: a literal, or the value hardware holds
    /// in a BAR dword, which the filter treats specially.
    #[derive(Clone, Copy, Debug)]
    enum Value {
        Literal(u32),
        BarValue(usize),
    }

    fn write_offset() -> impl Strategy<Value = u16> {
        prop_oneof![
            0u16..0x110,
            prop::sample::select(vec![
                0x04, 0x06, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30, 0x3c, 0x98, 0x9a, 0x9c
            ]),
        ]
    }

    fn write_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<u32>().prop_map(Value::Literal),
            Just(Value::Literal(u32::MAX)),
            Just(Value::Literal(0)),
            Just(Value::Literal(0xc000_0000)),
            (0usize..6).prop_map(Value::BarValue),
        ]
    }

    proptest! {
        #[test]
        fn filter_keeps_bars_and_confines_hardware_writes(
            layout in bar_layout(),
            with_msix in any::<bool>(),
            writes in prop::collection::vec((write_offset(), write_value()), 0..64),
        ) {
            let mut hw = fake_with(layout, with_msix);
            // Set a write-1-to-clear status bit the driver must not clear.
            hw.regs[1] |= 0x2000_0000;
            let probed = probe_bars(&mut hw);
            prop_assert_eq!(probed, expected_bars(layout));
            hw.log.clear();
            let before = hw.clone();
            let msix_cap = msix(&hw).map(|m| m.cap_offset);
            prop_assert_eq!(msix_cap, with_msix.then_some(MSIX_AT));
            let msix_control = msix_cap.map(u16::from);
            let mut filter = ConfigFilter::new(probed, msix_cap);

            // What the driver should see: each BAR dword is in sizing
            // state or not, and in sizing state reads what the hardware
            // reads after all-ones is written to it.
            let mut sizing = [false; 6];
            let hw_mask: [u32; 6] = core::array::from_fn(|slot| {
                let mut probe = before.clone();
                probe.write32(bar_offset(slot), u32::MAX);
                probe.read32(bar_offset(slot))
            });

            for (offset, value) in writes {
                let value = match value {
                    Value::Literal(v) => v,
                    Value::BarValue(slot) => before.bar_regs()[slot],
                };
                match filter.write(offset, value) {
                    Write::Pass(v) => {
                        prop_assert!(
                            offset == REG_COMMAND || Some(offset) == msix_control,
                            "passed a write to {:#x}", offset
                        );
                        hw.write32(offset, v);
                    }
                    Write::Absorbed => {
                        let slot = bar_slot(offset);
                        prop_assert!(slot.is_some(), "absorbed a write to {:#x}", offset);
                        let slot = slot.unwrap();
                        let orig = before.bar_regs()[slot];
                        prop_assert!(value == u32::MAX || value == orig);
                        sizing[slot] = value != orig;
                    }
                    Write::Denied => {}
                }
                prop_assert_eq!(hw.bar_regs(), before.bar_regs());
                for slot in 0..6 {
                    let offset = bar_offset(slot);
                    let expected = if sizing[slot] { hw_mask[slot] } else { before.bar_regs()[slot] };
                    prop_assert_eq!(filter.read(offset, hw.read32(offset)), expected);
                }
            }

            // Nothing but the driver's command bits and the MSI-X enable
            // and mask bits changed; in particular status was not cleared.
            for i in 0..DWORDS {
                let offset = 4 * i as u16;
                let free = if offset == REG_COMMAND {
                    CMD_DRIVER_BITS
                } else if Some(offset) == msix_control {
                    MSIX_CONTROL_DRIVER_BITS
                } else {
                    0
                };
                prop_assert_eq!(hw.regs[i] & !free, before.regs[i] & !free, "dword {:#x}", offset);
            }
            let confined = hw.log.iter().all(|&(o, v)| {
                (o == REG_COMMAND && v & !CMD_DRIVER_BITS == 0)
                    || (Some(o) == msix_control && v & !MSIX_CONTROL_DRIVER_BITS == 0)
            });
            prop_assert!(confined, "hardware writes {:x?}", hw.log);
        }

        #[test]
        fn filter_virtio_drivers_probe_matches_hardware(layout in bar_layout()) {
            check_virtio_probe_through_filter(fake_with(layout, true), expected_bars(layout));
        }
    }
}
