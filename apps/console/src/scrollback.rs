//! [`Scrollback`]: the rows of text above the input line, the newest at
//! the bottom. A line wider than the screen is wrapped onto several rows;
//! only the rows that fit are kept, so memory stays bounded whatever the
//! commands print.

use alloc::collections::VecDeque;
use alloc::string::String;

/// Rows of at most `columns` characters, at most `rows` of them.
#[derive(Clone, Debug)]
pub struct Scrollback {
    rows: VecDeque<(String, Style)>,
    max_rows: usize,
    columns: usize,
}

/// How a row is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A command line as the user typed it, after the prompt.
    Command,
    /// A command's output.
    Output,
    /// An error or a denial.
    Error,
}

impl Scrollback {
    /// An empty scrollback of `rows` rows of `columns` characters (each at
    /// least 1).
    #[must_use]
    pub fn new(rows: usize, columns: usize) -> Scrollback {
        Scrollback {
            rows: VecDeque::with_capacity(rows.max(1)),
            max_rows: rows.max(1),
            columns: columns.max(1),
        }
    }

    /// Adds `line` at the bottom, wrapped every `columns` characters (an
    /// empty line is one empty row); the oldest rows go. Characters that
    /// are not printable ASCII show as `?`.
    pub fn push(&mut self, line: &str, style: Style) {
        let mut row = String::new();
        let mut width = 0;
        for c in line.chars() {
            if width == self.columns {
                self.push_row(core::mem::take(&mut row), style);
                width = 0;
            }
            row.push(if (' '..='~').contains(&c) { c } else { '?' });
            width += 1;
        }
        self.push_row(row, style);
    }

    fn push_row(&mut self, row: String, style: Style) {
        if self.rows.len() == self.max_rows {
            self.rows.pop_front();
        }
        self.rows.push_back((row, style));
    }

    /// Forgets every row.
    pub fn clear(&mut self) {
        self.rows.clear();
    }

    /// The rows, oldest (top) first.
    pub fn rows(&self) -> impl Iterator<Item = (&str, Style)> {
        self.rows.iter().map(|(s, st)| (s.as_str(), *st))
    }

    /// Number of rows held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
