//! Diagnostics: what the parser and checker report, and their rustc-style
//! rendering through `codespan-reporting` (plain text, no colour).
//!
//! A [`Diag`] has a severity, a one-line message, a primary span with a
//! label, optional secondary labels, and notes that render as `= help: ...`
//! or `= note: ...`. Spans are byte ranges; rendering clamps them so that a
//! diagnostic is always printable.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;
use core::ops::Range;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Fails the build.
    Error,
    /// Reported, does not fail the build.
    Warning,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    /// Error or warning.
    pub severity: Severity,
    /// The message (first line).
    pub message: String,
    /// Primary span and its label; `None` for file-wide findings.
    pub primary: Option<(Range<usize>, String)>,
    /// Secondary spans and labels.
    pub secondary: Vec<(Range<usize>, String)>,
    /// `help: ...` / `note: ...` lines.
    pub notes: Vec<String>,
}

impl Diag {
    /// An error at `span`.
    pub fn error(span: Range<usize>, message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Error,
            message: message.into(),
            primary: Some((span, String::new())),
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// An error about the whole file (no span).
    pub fn file_error(message: impl Into<String>) -> Diag {
        Diag {
            primary: None,
            ..Diag::error(0..0, message)
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Range<usize>, message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Warning,
            ..Diag::error(span, message)
        }
    }

    /// Sets the primary label.
    pub fn label(mut self, text: impl Into<String>) -> Diag {
        if let Some((_, l)) = &mut self.primary {
            *l = text.into();
        }
        self
    }

    /// Adds a secondary label.
    pub fn secondary(mut self, span: Range<usize>, text: impl Into<String>) -> Diag {
        self.secondary.push((span, text.into()));
        self
    }

    /// Adds a `help:` line.
    pub fn help(mut self, text: impl Into<String>) -> Diag {
        self.notes.push(format!("help: {}", text.into()));
        self
    }

    /// Adds a `note:` line.
    pub fn note(mut self, text: impl Into<String>) -> Diag {
        self.notes.push(format!("note: {}", text.into()));
        self
    }

    /// 1-based line and column (in characters) of the primary span's start;
    /// (0, 0) for file-wide diagnostics.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let Some((span, _)) = &self.primary else {
            return (0, 0);
        };
        let at = clamp(src, span.start);
        let before = &src[..at];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// Renders the diagnostic rustc-style against `src`.
    pub fn render(&self, file: &str, src: &str) -> String {
        let files = SimpleFile::new(file, src);
        let fix = |r: &Range<usize>| {
            let s = clamp(src, r.start);
            s..clamp(src, r.end.max(s))
        };
        let mut labels = Vec::new();
        if let Some((span, text)) = &self.primary {
            labels.push(Label::primary((), fix(span)).with_message(text));
        }
        for (span, text) in &self.secondary {
            labels.push(Label::secondary((), fix(span)).with_message(text));
        }
        let d = match self.severity {
            Severity::Error => Diagnostic::error(),
            Severity::Warning => Diagnostic::warning(),
        }
        .with_message(&self.message)
        .with_labels(labels)
        .with_notes(self.notes.clone());
        // ASCII art, as rustc prints it: `-->`, `|`, `^`, `=`.
        let config = term::Config {
            chars: term::Chars::ascii(),
            ..term::Config::default()
        };
        term::emit_into_string(&config, &files, &d)
            .unwrap_or_else(|_| format!("error: {}\n", self.message))
    }
}

/// Largest char boundary at or below `at`, within the source.
fn clamp(src: &str, at: usize) -> usize {
    let mut i = at.min(src.len());
    while !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Edit distance between two names: insertions, deletions, substitutions
/// and transpositions of neighbours each cost 1 (optimal string alignment),
/// so `Ecoh` is one edit from `Echo`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate to `name`, if it is close enough to be a likely
/// typo (distance at most a third of the length, at least 1; case-only
/// differences always qualify).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                edit_distance(name, c)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Adds "did you mean" help to `d` when a candidate is close.
pub fn with_suggestion<'a>(
    d: Diag,
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diag {
    match suggest(name, candidates) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d,
    }
}
