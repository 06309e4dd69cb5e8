//! Spec errors shown at their line and column, with the line underneath.

use std::fmt;

use std::path::PathBuf;
use std::sync::Arc;
use unicode_width::UnicodeWidthStr;

use crate::yaml::Span;

/// One problem in a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code, e.g. `spec.unknown_field`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where (none for problems of the whole file).
    pub span: Option<Span>,
    /// How to fix it, e.g. the closest valid word.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem at `span`.
    pub fn new(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Adds a suggestion.
    pub fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// Every problem found in one spec file.
#[derive(Debug, Clone)]
pub struct SpecErrors {
    /// The spec file.
    pub path: PathBuf,
    /// Its text, to show the lines at fault.
    pub text: Arc<str>,
    /// The problems, in the order of the file.
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecErrors {
    /// The code of the first problem.
    pub fn code(&self) -> &'static str {
        self.diagnostics.first().map_or("spec.invalid", |d| d.code)
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        let lines: Vec<&str> = self.text.lines().collect();
        for d in &self.diagnostics {
            let Some(span) = d.span else {
                writeln!(
                    f,
                    "error[{}]: {}: {}",
                    d.code,
                    self.path.display(),
                    d.message
                )?;
                if let Some(h) = &d.help {
                    writeln!(f, "  = help: {h}")?;
                }
                continue;
            };
            let (line, col) = (span.start.line, span.start.col);
            writeln!(
                f,
                "error[{}]: {}:{line}:{col}: {}",
                d.code,
                self.path.display(),
                d.message
            )?;
            let gutter = line.to_string().len();
            let pad = " ".repeat(gutter);
            if let Some(text) = lines.get(line.wrapping_sub(1)) {
                let text = text.replace('\t', " ");
                writeln!(f, "{pad} |")?;
                writeln!(f, "{line} | {text}")?;
                let chars = text.chars().count();
                let len = span.len.clamp(1, chars.saturating_sub(col - 1).max(1));
                // Columns are characters; a wide character (CJK) takes two cells on a
                // terminal, so the carets go by display width.
                let before: String = text.chars().take(col.saturating_sub(1)).collect();
                let under: String = text.chars().skip(col.saturating_sub(1)).take(len).collect();
                let marks = format!(
                    "{}{}",
                    " ".repeat(before.width()),
                    "^".repeat(under.width().max(1))
                );
                match &d.help {
                    Some(h) => writeln!(f, "{pad} | {marks} {h}")?,
                    None => writeln!(f, "{pad} | {marks}")?,
                }
            } else if let Some(h) = &d.help {
                writeln!(f, "  = help: {h}")?;
            }
        }
        write!(
            f,
            "{}: {n} problem{} in the spec",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;

    #[test]
    fn carets_line_up_under_wide_characters() {
        let e = SpecErrors {
            path: "s.yaml".into(),
            text: "name: 受注
kinds: [注文]
"
            .into(),
            diagnostics: vec![Diagnostic::new(
                "spec.bad_name",
                Some(Span {
                    start: Pos { line: 2, col: 9 },
                    len: 2,
                }),
                "bad",
            )],
        };
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "2 | kinds: [注文]");
        // `kinds: [` is 8 cells; 注文 is 4.
        assert_eq!(lines[3], "  |         ^^^^");
    }

    #[test]
    fn renders_the_line_and_a_caret() {
        let e = SpecErrors {
            path: "s.yaml".into(),
            text: "version: 1\nselct: []\n".into(),
            diagnostics: vec![
                Diagnostic::new(
                    "spec.unknown_field",
                    Some(Span {
                        start: Pos { line: 2, col: 1 },
                        len: 5,
                    }),
                    "unknown field `selct`",
                )
                .help(Some("did you mean `select`?".into())),
            ],
        };
        assert_eq!(
            e.to_string(),
            "error[spec.unknown_field]: s.yaml:2:1: unknown field `selct`\n  |\n2 | selct: []\n  | ^^^^^ did you mean `select`?\n\
             s.yaml: 1 problem in the spec"
        );
    }
}
