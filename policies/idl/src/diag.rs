//! Diagnostics: an error with a byte span in one file, rendered the way rustc
//! renders its errors.
//!
//! Spans are byte ranges into the file's source. Rendering turns them into a
//! 1-based line and a 1-based column counted in characters (not bytes), so a
//! caret lands under the right character after multi-byte UTF-8 text. Spans
//! that are out of range or split a character are clamped, never a panic:
//! a diagnostic must always be printable.

use core::ops::Range;

/// One error found in an interface file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as given to [`crate::parse`] or [`crate::load`].
    pub file: String,
    /// The byte range of the offending text (empty at end of file).
    pub span: Range<usize>,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it, if there is a useful suggestion.
    pub hint: Option<String>,
}

/// Width that a tab is expanded to when a source line is shown.
const TAB_WIDTH: usize = 4;

impl Diagnostic {
    /// An error at `span` with no hint.
    pub fn new(file: &str, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            span,
            message: message.into(),
            hint: None,
        }
    }

    /// The same error with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// The 1-based line and character column where the span starts.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        line_col(src, self.span.start)
    }

    /// Renders the diagnostic rustc-style against the file's source:
    ///
    /// ```text
    /// error: interface id 0x10 is reserved for the kernel
    ///  --> echo.idl:1:18
    ///   |
    /// 1 | interface Echo = 0x10 {
    ///   |                  ^^^^
    ///   |
    ///   = hint: user interfaces start at 0x100 (abi::iface::FIRST_USER)
    /// ```
    pub fn render(&self, src: &str) -> String {
        let start = floor_boundary(src, self.span.start);
        let end = floor_boundary(src, self.span.end.max(start));
        let (line, col) = line_col(src, start);
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let text = src[line_start..line_end].trim_end_matches('\r');

        // Display columns before the span and under it, on the first line of
        // the span only; tabs are shown expanded.
        let before = display_width(&text[..(start - line_start).min(text.len())]);
        let under_end = end.min(line_start + text.len()).max(start);
        let under = display_width(&src[start..under_end]).max(1);

        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let mut out = format!("error: {}\n", self.message);
        out += &format!("{pad}--> {}:{line}:{col}\n", self.file);
        out += &format!("{pad} |\n");
        out += &format!("{line} | {}\n", expand_tabs(text));
        out += &format!("{pad} | {}{}\n", " ".repeat(before), "^".repeat(under));
        if let Some(hint) = &self.hint {
            out += &format!("{pad} |\n");
            out += &format!("{pad} = hint: {hint}\n");
        }
        out
    }
}

impl core::fmt::Display for Diagnostic {
    /// A one-line form without the source: `file: message`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Renders several diagnostics of the same source, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], src: &str) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(src))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The 1-based line and character column of byte offset `at` in `src`.
pub(crate) fn line_col(src: &str, at: usize) -> (usize, usize) {
    let at = floor_boundary(src, at);
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, src[line_start..at].chars().count() + 1)
}

/// The largest character boundary of `src` at or below `at`.
fn floor_boundary(src: &str, at: usize) -> usize {
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if c == '\t' { TAB_WIDTH } else { 1 })
        .sum()
}

fn expand_tabs(s: &str) -> String {
    s.replace('\t', &" ".repeat(TAB_WIDTH))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(span: Range<usize>) -> Diagnostic {
        Diagnostic::new("f.idl", span, "boom")
    }

    #[test]
    fn renders_like_rustc() {
        let src = "interface Echo = 0x10 {\n}\n";
        let d = diag(17..21).with_hint("use 0x100");
        assert_eq!(
            d.render(src),
            "error: boom\n \
             --> f.idl:1:18\n  \
             |\n\
             1 | interface Echo = 0x10 {\n  \
             |                  ^^^^\n  \
             |\n  \
             = hint: use 0x100\n"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // "é" and "→" are 2 and 3 bytes; the caret must still sit under `x`.
        let src = "/// é→\n// ü\nmethod é→x";
        let at = src.rfind('x').unwrap();
        let d = diag(at..at + 1);
        assert_eq!(d.line_col(src), (3, 10));
        let out = d.render(src);
        assert!(out.contains(" --> f.idl:3:10\n"), "{out}");
        assert!(out.contains("3 | method é→x\n  |          ^\n"), "{out}");
    }

    #[test]
    fn span_covering_multibyte_text_is_as_wide_as_its_characters() {
        let src = "a ééé b";
        let d = diag(2..8);
        assert!(d.render(src).contains("  |   ^^^\n"));
    }

    #[test]
    fn end_of_file_and_empty_spans_get_one_caret() {
        let src = "interface X";
        let d = diag(src.len()..src.len());
        let out = d.render(src);
        assert!(out.contains("1:12"), "{out}");
        assert!(out.contains("  |            ^\n"), "{out}");
        assert!(diag(0..0).render("").contains("1:1"));
    }

    #[test]
    fn multi_line_span_is_underlined_to_the_end_of_its_first_line() {
        let src = "ab\r\ncd\n";
        let out = diag(1..6).render(src);
        assert!(out.contains("1 | ab\n  |  ^\n"), "{out}");
    }

    #[test]
    fn tabs_are_expanded_consistently() {
        let src = "\tx";
        let out = diag(1..2).render(src);
        assert!(out.contains("1 |     x\n  |     ^\n"), "{out}");
    }

    #[test]
    fn wide_gutter_for_long_files() {
        let src = format!("{}x", "\n".repeat(99));
        let out = diag(99..100).render(&src);
        assert!(
            out.contains("   --> f.idl:100:1\n    |\n100 | x\n    | ^\n"),
            "{out}"
        );
    }

    #[test]
    fn bad_spans_never_panic() {
        let src = "é";
        for (start, end) in [(1, 2), (5, 9), (2, 1), (0, 100)] {
            let _ = diag(start..end).render(src);
        }
    }
}
