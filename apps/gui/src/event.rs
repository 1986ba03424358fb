//! Input events, decoded from the words of the window protocol's `event`
//! reply (`policies/interfaces/window.idl`).

use core::fmt;

/// `kind` of an `event` reply that carries no event: the queue is empty.
/// (Only `Window`, a bare-metal item, needs it.)
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) const KIND_NONE: u32 = 0;
const KIND_KEY_DOWN: u32 = 1;
const KIND_KEY_UP: u32 = 2;
const KIND_POINTER_MOVED: u32 = 3;
const KIND_BUTTON_DOWN: u32 = 4;
const KIND_BUTTON_UP: u32 = 5;
const KIND_FOCUS_GAINED: u32 = 6;
const KIND_FOCUS_LOST: u32 = 7;

/// Key codes at or below this value are characters; above it, other keys.
const LAST_CHAR_CODE: u32 = 0x10000;

/// A key, as the protocol's `code` word names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A key that produces a character.
    Char(char),
    /// Any other key: a code above 0x10000 chosen by the display server,
    /// or a value at or below it that is not a Unicode scalar value (which
    /// a correct server does not send).
    Code(u32),
}

impl Key {
    /// The key that the `code` word names.
    #[must_use]
    pub fn from_code(code: u32) -> Key {
        if code <= LAST_CHAR_CODE
            && let Some(c) = char::from_u32(code)
        {
            return Key::Char(c);
        }
        Key::Code(code)
    }

    /// The character, if the key has one.
    #[must_use]
    pub fn char(self) -> Option<char> {
        match self {
            Key::Char(c) => Some(c),
            Key::Code(_) => None,
        }
    }
}

impl fmt::Display for Key {
    /// A character as itself, any other key as `<0x...>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Char(c) => write!(f, "{c}"),
            Key::Code(code) => write!(f, "<{code:#x}>"),
        }
    }
}

/// One input event for a window. Pointer positions are window coordinates:
/// (0, 0) is the top-left pixel of the window's surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A key was pressed.
    KeyDown(Key),
    /// A key was released.
    KeyUp(Key),
    /// The pointer moved to (`x`, `y`).
    PointerMoved {
        /// Column.
        x: i32,
        /// Row.
        y: i32,
    },
    /// A pointer button was pressed at (`x`, `y`).
    ButtonDown {
        /// Column.
        x: i32,
        /// Row.
        y: i32,
    },
    /// A pointer button was released at (`x`, `y`).
    ButtonUp {
        /// Column.
        x: i32,
        /// Row.
        y: i32,
    },
    /// The window now receives keyboard input.
    FocusGained,
    /// The window no longer receives keyboard input.
    FocusLost,
}

impl Event {
    /// Decodes the four result words of an `event` reply. `None` for kind
    /// 0 (no event) and for kinds this library does not know (a newer
    /// server's), which a client can only skip.
    ///
    /// The `x` and `y` words are read as two's-complement `i32`, so a
    /// position left of or above the window arrives negative.
    #[must_use]
    pub fn from_raw(kind: u32, code: u32, x: u32, y: u32) -> Option<Event> {
        let (x, y) = (x.cast_signed(), y.cast_signed());
        Some(match kind {
            KIND_KEY_DOWN => Event::KeyDown(Key::from_code(code)),
            KIND_KEY_UP => Event::KeyUp(Key::from_code(code)),
            KIND_POINTER_MOVED => Event::PointerMoved { x, y },
            KIND_BUTTON_DOWN => Event::ButtonDown { x, y },
            KIND_BUTTON_UP => Event::ButtonUp { x, y },
            KIND_FOCUS_GAINED => Event::FocusGained,
            KIND_FOCUS_LOST => Event::FocusLost,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_kind_decodes() {
        assert_eq!(Event::from_raw(0, 0, 0, 0), None);
        assert_eq!(
            Event::from_raw(1, 'a' as u32, 0, 0),
            Some(Event::KeyDown(Key::Char('a')))
        );
        assert_eq!(
            Event::from_raw(2, 0x10005, 0, 0),
            Some(Event::KeyUp(Key::Code(0x10005)))
        );
        assert_eq!(
            Event::from_raw(3, 0, 5, 7),
            Some(Event::PointerMoved { x: 5, y: 7 })
        );
        assert_eq!(
            Event::from_raw(4, 0, 1, 2),
            Some(Event::ButtonDown { x: 1, y: 2 })
        );
        assert_eq!(
            Event::from_raw(5, 0, u32::MAX, 3),
            Some(Event::ButtonUp { x: -1, y: 3 })
        );
        assert_eq!(Event::from_raw(6, 0, 0, 0), Some(Event::FocusGained));
        assert_eq!(Event::from_raw(7, 0, 0, 0), Some(Event::FocusLost));
        assert_eq!(Event::from_raw(8, 0, 0, 0), None);
        assert_eq!(Event::from_raw(u32::MAX, 0, 0, 0), None);
    }

    #[test]
    fn key_codes() {
        assert_eq!(Key::from_code('\n' as u32), Key::Char('\n'));
        assert_eq!(Key::from_code('é' as u32), Key::Char('é'));
        assert_eq!(Key::from_code(0x10000), Key::Char('\u{10000}'));
        assert_eq!(Key::from_code(0x10001), Key::Code(0x10001));
        // A surrogate is no character.
        assert_eq!(Key::from_code(0xd800), Key::Code(0xd800));
        assert_eq!(Key::Char('x').char(), Some('x'));
        assert_eq!(Key::Code(0x10001).char(), None);
        assert_eq!(std::format!("{}", Key::Code(0x10001)), "<0x10001>");
        assert_eq!(std::format!("{}", Key::Char('q')), "q");
    }
}
