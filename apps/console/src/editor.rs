//! [`LineEditor`]: the terminal's input line, with a cursor and a command
//! history, and [`Edit`], the keys it understands.
//!
//! Everything is bounded: the line holds at most [`MAX_LINE`] characters
//! (further characters are refused, not wrapped), and the history keeps the
//! last [`MAX_HISTORY`] distinct commands. Only printable ASCII enters the
//! line, so what the terminal logs and draws is always plain text its font
//! has glyphs for.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

/// The most characters the input line holds.
pub const MAX_LINE: usize = 120;
/// The most commands the history keeps.
pub const MAX_HISTORY: usize = 32;

/// Key codes of keys without a character, as the input service sends them
/// through the display server: `0x10000` plus the evdev key code
/// (`input-service/src/keymap.rs`, `NO_CHAR`).
pub mod code {
    const NO_CHAR: u32 = 0x1_0000;
    /// Home.
    pub const HOME: u32 = NO_CHAR + 102;
    /// Cursor up.
    pub const UP: u32 = NO_CHAR + 103;
    /// Cursor left.
    pub const LEFT: u32 = NO_CHAR + 105;
    /// Cursor right.
    pub const RIGHT: u32 = NO_CHAR + 106;
    /// End.
    pub const END: u32 = NO_CHAR + 107;
    /// Cursor down.
    pub const DOWN: u32 = NO_CHAR + 108;
    /// Delete.
    pub const DELETE: u32 = NO_CHAR + 111;
}

/// An editing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// A printable character, inserted at the cursor.
    Insert(char),
    /// Erase the character before the cursor.
    Backspace,
    /// Erase the character at the cursor.
    Delete,
    /// Run the line.
    Enter,
    /// Cursor one left.
    Left,
    /// Cursor one right.
    Right,
    /// Cursor to the start.
    Home,
    /// Cursor to the end.
    End,
    /// The previous command of the history.
    Up,
    /// The next command of the history (past the newest: the line that was
    /// being typed).
    Down,
}

impl Edit {
    /// The edit a key press means: `code` is a character or a key code
    /// above 0x10000 (the window protocol's `code` word). `None` for keys
    /// the editor ignores (control characters other than Backspace and
    /// Enter, non-ASCII characters, unknown keys).
    #[must_use]
    pub fn from_key_code(key: u32) -> Option<Edit> {
        Some(match key {
            0x08 | 0x7f => Edit::Backspace,
            0x0a | 0x0d => Edit::Enter,
            0x20..=0x7e => Edit::Insert(char::from(key as u8)),
            code::LEFT => Edit::Left,
            code::RIGHT => Edit::Right,
            code::UP => Edit::Up,
            code::DOWN => Edit::Down,
            code::HOME => Edit::Home,
            code::END => Edit::End,
            code::DELETE => Edit::Delete,
            _ => return None,
        })
    }
}

/// The input line: characters, a cursor, and the history that Up and Down
/// walk.
#[derive(Clone, Debug, Default)]
pub struct LineEditor {
    /// The line, printable ASCII only, at most [`MAX_LINE`] long.
    line: Vec<u8>,
    /// Cursor position: `0..=line.len()`.
    cursor: usize,
    /// Commands run, oldest first; at most [`MAX_HISTORY`].
    history: VecDeque<String>,
    /// While walking the history: the entry shown, and the line that was
    /// being typed before the walk began (Down past the newest restores it).
    walk: Option<(usize, Vec<u8>)>,
}

impl LineEditor {
    /// An empty line with no history.
    #[must_use]
    pub fn new() -> LineEditor {
        LineEditor::default()
    }

    /// The line as typed.
    #[must_use]
    pub fn line(&self) -> &str {
        // Only printable ASCII is ever inserted.
        core::str::from_utf8(&self.line).unwrap_or("")
    }

    /// The cursor's position in the line, `0..=line().len()`.
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The history, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Applies one edit. Returns the line to run on [`Edit::Enter`] (the
    /// line is then empty again, and a non-blank line that differs from
    /// the newest entry joins the history); `None` otherwise. Returns
    /// whether anything changed as the second value, so the caller knows
    /// whether to redraw.
    pub fn apply(&mut self, edit: Edit) -> (Option<String>, bool) {
        let changed = match edit {
            Edit::Insert(c) => {
                if !(' '..='~').contains(&c) || self.line.len() >= MAX_LINE {
                    return (None, false);
                }
                self.line.insert(self.cursor, c as u8);
                self.cursor += 1;
                true
            }
            Edit::Backspace => {
                if self.cursor == 0 {
                    return (None, false);
                }
                self.cursor -= 1;
                self.line.remove(self.cursor);
                true
            }
            Edit::Delete => {
                if self.cursor == self.line.len() {
                    return (None, false);
                }
                self.line.remove(self.cursor);
                true
            }
            Edit::Left => self.move_to(self.cursor.saturating_sub(1)),
            Edit::Right => self.move_to((self.cursor + 1).min(self.line.len())),
            Edit::Home => self.move_to(0),
            Edit::End => self.move_to(self.line.len()),
            Edit::Up => self.walk_up(),
            Edit::Down => self.walk_down(),
            Edit::Enter => return (Some(self.take()), true),
        };
        if changed && !matches!(edit, Edit::Up | Edit::Down) {
            // An edit of a recalled command makes it the line being typed.
            self.walk = None;
        }
        (None, changed)
    }

    fn move_to(&mut self, cursor: usize) -> bool {
        let moved = cursor != self.cursor;
        self.cursor = cursor;
        moved
    }

    /// Empties the line and records it in the history.
    fn take(&mut self) -> String {
        let line = String::from(self.line());
        self.line.clear();
        self.cursor = 0;
        self.walk = None;
        let command = line.trim();
        if !command.is_empty() && self.history.back().map(String::as_str) != Some(command) {
            if self.history.len() == MAX_HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(String::from(command));
        }
        line
    }

    fn show(&mut self, line: Vec<u8>) {
        self.line = line;
        self.cursor = self.line.len();
    }

    fn walk_up(&mut self) -> bool {
        let at = match &self.walk {
            Some((0, _)) => return false,
            Some((i, _)) => i - 1,
            None if self.history.is_empty() => return false,
            None => self.history.len() - 1,
        };
        let typed = match self.walk.take() {
            Some((_, typed)) => typed,
            None => core::mem::take(&mut self.line),
        };
        self.walk = Some((at, typed));
        self.show(self.history[at].as_bytes().to_vec());
        true
    }

    fn walk_down(&mut self) -> bool {
        let Some((at, typed)) = self.walk.take() else {
            return false;
        };
        if at + 1 < self.history.len() {
            self.walk = Some((at + 1, typed));
            self.show(self.history[at + 1].as_bytes().to_vec());
        } else {
            self.show(typed);
        }
        true
    }

    /// The part of the line a field of `width` characters shows (at least
    /// 1), chosen so the cursor is inside it, and the cursor's column in
    /// that part.
    #[must_use]
    pub fn view(&self, width: usize) -> (&str, usize) {
        let width = width.max(1);
        // The cursor may sit just past the last character, which takes a
        // column too.
        let start = (self.cursor + 1).saturating_sub(width);
        let end = (start + width).min(self.line.len());
        (&self.line()[start..end], self.cursor - start)
    }
}
