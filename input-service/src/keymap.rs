//! evdev key codes to characters, US layout, with modifier state.
//!
//! Hardware-free: the input service feeds it `(code, pressed)` pairs and
//! gets back what to tell the display server.
//!
//! Each modifier key is tracked on its own: a modifier bit is set while
//! either key of its pair (left or right) is held, so releasing one Shift
//! while the other is still down keeps SHIFT.

/// A key without a character is reported as this plus its evdev code.
pub const NO_CHAR: u32 = 0x1_0000;

/// Modifier bits, as the `Input.key` method documents them.
pub const SHIFT: u32 = 1;
/// Control.
pub const CTRL: u32 = 2;
/// Alt.
pub const ALT: u32 = 4;
/// Meta (the "Windows" key).
pub const META: u32 = 8;

// evdev codes of the modifier keys.
const KEY_LEFTCTRL: u16 = 29;
const KEY_LEFTSHIFT: u16 = 42;
const KEY_RIGHTSHIFT: u16 = 54;
const KEY_LEFTALT: u16 = 56;
const KEY_CAPSLOCK: u16 = 58;
const KEY_RIGHTCTRL: u16 = 97;
const KEY_RIGHTALT: u16 = 100;
const KEY_LEFTMETA: u16 = 125;
const KEY_RIGHTMETA: u16 = 126;

/// The modifier keys and the bit each one holds down; bit `i` of
/// [`Keymap`]'s `held` is `MODIFIER_KEYS[i]`.
const MODIFIER_KEYS: [(u16, u32); 8] = [
    (KEY_LEFTSHIFT, SHIFT),
    (KEY_RIGHTSHIFT, SHIFT),
    (KEY_LEFTCTRL, CTRL),
    (KEY_RIGHTCTRL, CTRL),
    (KEY_LEFTALT, ALT),
    (KEY_RIGHTALT, ALT),
    (KEY_LEFTMETA, META),
    (KEY_RIGHTMETA, META),
];

/// evdev codes 1..=57 on a US keyboard: (plain, shifted); 0 for none.
const US: [(u8, u8); 58] = [
    (0, 0),
    (0x1b, 0x1b), // 1 Esc
    (b'1', b'!'),
    (b'2', b'@'),
    (b'3', b'#'),
    (b'4', b'$'),
    (b'5', b'%'),
    (b'6', b'^'),
    (b'7', b'&'),
    (b'8', b'*'),
    (b'9', b'('),
    (b'0', b')'),
    (b'-', b'_'),
    (b'=', b'+'),
    (0x08, 0x08), // 14 Backspace
    (b'\t', b'\t'),
    (b'q', b'Q'),
    (b'w', b'W'),
    (b'e', b'E'),
    (b'r', b'R'),
    (b't', b'T'),
    (b'y', b'Y'),
    (b'u', b'U'),
    (b'i', b'I'),
    (b'o', b'O'),
    (b'p', b'P'),
    (b'[', b'{'),
    (b']', b'}'),
    (b'\n', b'\n'), // 28 Enter
    (0, 0),         // 29 left ctrl
    (b'a', b'A'),
    (b's', b'S'),
    (b'd', b'D'),
    (b'f', b'F'),
    (b'g', b'G'),
    (b'h', b'H'),
    (b'j', b'J'),
    (b'k', b'K'),
    (b'l', b'L'),
    (b';', b':'),
    (b'\'', b'"'),
    (b'`', b'~'),
    (0, 0), // 42 left shift
    (b'\\', b'|'),
    (b'z', b'Z'),
    (b'x', b'X'),
    (b'c', b'C'),
    (b'v', b'V'),
    (b'b', b'B'),
    (b'n', b'N'),
    (b'm', b'M'),
    (b',', b'<'),
    (b'.', b'>'),
    (b'/', b'?'),
    (0, 0),       // 54 right shift
    (b'*', b'*'), // 55 keypad *
    (0, 0),       // 56 left alt
    (b' ', b' '), // 57 space
];

/// A key event for the display server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The character, or [`NO_CHAR`] + the evdev code.
    pub code: u32,
    /// Pressed or released.
    pub down: bool,
    /// Modifier bits after this event.
    pub modifiers: u32,
}

/// The keyboard's modifier state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keymap {
    /// Which modifier keys are down: bit `i` for `MODIFIER_KEYS[i]`.
    held: u8,
    caps: bool,
}

impl Keymap {
    /// The modifier bits of the keys held now.
    pub fn modifiers(&self) -> u32 {
        MODIFIER_KEYS
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.held & (1 << i) != 0)
            .fold(0, |m, (_, &(_, bit))| m | bit)
    }

    /// Caps lock is on.
    pub fn caps_lock(&self) -> bool {
        self.caps
    }

    /// Translates one evdev key event (`value` 1 pressed, 2 repeated, 0
    /// released).
    pub fn key(&mut self, code: u16, value: i32) -> Key {
        let down = value != 0;
        if let Some(i) = MODIFIER_KEYS.iter().position(|&(c, _)| c == code) {
            if down {
                self.held |= 1 << i;
            } else {
                self.held &= !(1 << i);
            }
        }
        if code == KEY_CAPSLOCK && value == 1 {
            self.caps = !self.caps;
        }
        let modifiers = self.modifiers();
        let (plain, shifted) = US.get(usize::from(code)).copied().unwrap_or((0, 0));
        let letter = plain.is_ascii_lowercase();
        let shift = modifiers & SHIFT != 0;
        let upper = if letter { shift != self.caps } else { shift };
        let c = if upper { shifted } else { plain };
        Key {
            code: if c == 0 {
                NO_CHAR + u32::from(code)
            } else {
                u32::from(c)
            },
            down,
            modifiers,
        }
    }
}
