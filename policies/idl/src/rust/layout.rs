//! Text layout for the generator: lines, doc blocks, and the three
//! constructs whose layout depends on length (signatures, arrays, calls),
//! each laid out the way rustfmt's defaults would.

use std::fmt::Write;

/// rustfmt's default line width.
const MAX_WIDTH: usize = 100;
/// rustfmt's default `array_width` (60% of the line width).
const ARRAY_WIDTH: usize = 60;
/// rustfmt's default `fn_call_width` (60% of the line width).
const FN_CALL_WIDTH: usize = 60;

/// The text being generated.
pub(super) struct Gen {
    pub(super) out: String,
}

impl Gen {
    pub(super) fn line(&mut self, indent: usize, text: &str) {
        if text.is_empty() {
            self.out.push('\n');
        } else {
            let _ = writeln!(self.out, "{:indent$}{text}", "");
        }
    }

    pub(super) fn doc(&mut self, indent: usize, doc: &str) {
        for l in doc.lines().map(str::trim_end) {
            let text = if l.is_empty() {
                "///".to_string()
            } else {
                format!("/// {l}")
            };
            self.line(indent, &text);
        }
    }

    /// A documentation block: the interface file's doc if there is one, then
    /// `extra` (if any) as a separate paragraph.
    pub(super) fn docs(&mut self, indent: usize, from_file: &str, extra: &str) {
        self.doc(indent, from_file);
        if !from_file.is_empty() && !extra.is_empty() {
            self.line(indent, "///");
        }
        self.doc(indent, extra);
    }

    /// A function signature, on one line if it fits, else one parameter per
    /// line (rustfmt's "tall" layout). `end` is `" {"` or `";"`.
    pub(super) fn signature(
        &mut self,
        indent: usize,
        head: &str,
        params: &[String],
        ret: &str,
        end: &str,
    ) {
        let arrow = if ret.is_empty() {
            String::new()
        } else {
            format!(" -> {ret}")
        };
        let flat = format!("{head}({}){arrow}{end}", params.join(", "));
        if indent + flat.len() <= MAX_WIDTH {
            self.line(indent, &flat);
            return;
        }
        self.line(indent, &format!("{head}("));
        for p in params {
            self.line(indent + 4, &format!("{p},"));
        }
        self.line(indent, &format!("){arrow}{end}"));
    }

    /// `{prefix}[items]{suffix}` on one line if it fits, else one item per
    /// line.
    pub(super) fn array(&mut self, indent: usize, prefix: &str, items: &[String], suffix: &str) {
        let flat = format!("[{}]", items.join(", "));
        if flat.len() <= ARRAY_WIDTH
            && indent + prefix.len() + flat.len() + suffix.len() <= MAX_WIDTH
        {
            self.line(indent, &format!("{prefix}{flat}{suffix}"));
            return;
        }
        self.line(indent, &format!("{prefix}["));
        for item in items {
            self.line(indent + 4, &format!("{item},"));
        }
        self.line(indent, &format!("]{suffix}"));
    }

    /// `{prefix}{function}(args){suffix}` on one line if it fits, else one
    /// argument per line.
    pub(super) fn call(
        &mut self,
        indent: usize,
        prefix: &str,
        function: &str,
        args: &[String],
        suffix: &str,
    ) {
        let flat = args.join(", ");
        let line = format!("{prefix}{function}({flat}){suffix}");
        if flat.len() <= FN_CALL_WIDTH && indent + line.len() <= MAX_WIDTH {
            self.line(indent, &line);
            return;
        }
        self.line(indent, &format!("{prefix}{function}("));
        for arg in args {
            self.line(indent + 4, &format!("{arg},"));
        }
        self.line(indent, &format!("){suffix}"));
    }
}
