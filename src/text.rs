//! Text that came from packages, specs or hook scripts, made safe to show on a terminal.
//!
//! A name or a log line may hold control characters: an escape sequence can move the cursor,
//! erase the plan lines a reviewer reads, or retitle the terminal; a carriage return can write
//! over a line; bidirectional controls can make a name read differently from what it is. Human
//! output shows each such character as a visible `\u{…}` escape instead. JSON output needs no
//! such care: it escapes control characters itself, and a program reads it.

use std::borrow::Cow;

/// Whether `c` changes how the text around it is shown rather than being shown itself:
/// C0 and C1 controls, DEL, the line and paragraph separators (U+2028, U+2029: editors,
/// browsers and some terminals break the line there) and the bidirectional formatting
/// characters.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi_control(c)
}

/// The bidirectional formatting characters (embeddings, overrides, isolates and marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` as one line: every control character (line breaks and tabs too) and bidirectional
/// control shown as `\u{…}`.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape_where(text, is_unsafe_char)
}

/// `text` as one line that may hold tabs: every other control character (line breaks too)
/// and bidirectional control shown as `\u{…}`.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\t' && is_unsafe_char(c))
}

/// `text` as lines for a terminal: line breaks and tabs kept, every other control character
/// and bidirectional control shown as `\u{…}`.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && c != '\t' && is_unsafe_char(c))
}

/// What makes `name` unsafe as an asset name on some platform or to a reader, if anything:
/// bidirectional controls (the name reads differently from what it is), a name Windows
/// reserves for devices (`CON`, `NUL`, `COM1`, … with any extension), or a trailing dot or
/// space (Windows drops them, so two names become one).
pub fn name_concern(name: &str) -> Option<&'static str> {
    if name.chars().any(is_bidi_control) {
        return Some(
            "holds bidirectional control characters: it reads differently from what it is",
        );
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    let reserved = matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ["COM", "LPT"].iter().any(|p| {
        upper.strip_prefix(p).is_some_and(|n| {
            n.len() == 1 && n.as_bytes()[0].is_ascii_digit() || matches!(n, "¹" | "²" | "³")
        })
    });
    if reserved {
        return Some(
            "is a device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9), which no file there may have",
        );
    }
    if name.ends_with(['.', ' ']) {
        return Some("ends with a dot or a space, which Windows drops");
    }
    None
}

/// `name` in Unicode normalisation form C: two names with the same form are one name on disks
/// that normalise (macOS) and look alike everywhere.
pub fn normalized(name: &str) -> std::borrow::Cow<'_, str> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    if is_nfc_quick(name.chars()) == IsNormalized::Yes {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.nfc().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape_controls("plain name"), "plain name");
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_controls("a\x1b[2Kb"), "a\\u{1b}[2Kb");
        assert_eq!(escape_controls("a\rb\nc\td"), "a\\u{d}b\\u{a}c\\u{9}d");
        assert_eq!(escape_controls("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(escape_controls("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(escape_controls("del\u{7f}"), "del\\u{7f}");
        assert_eq!(
            escape_controls("a\u{2028}b\u{2029}"),
            "a\\u{2028}b\\u{2029}"
        );
        assert_eq!(escape_controls("注文 ✓ é"), "注文 ✓ é");
        assert_eq!(
            for_terminal("line\n\tindented\x1b]0;title\x07"),
            "line\n\tindented\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(for_terminal("over\rwrite"), "over\\u{d}write");
    }

    #[test]
    fn names_unsafe_somewhere_are_told() {
        for ok in [
            "orders", "con-api", "console", "com10", "nul_x", "a.b", "注文",
        ] {
            assert_eq!(name_concern(ok), None, "{ok}");
        }
        for bad in [
            "CON",
            "con",
            "nul.json",
            "Com1",
            "lpt9.txt",
            "AUX .x",
            "COM¹",
            "x.",
            "x ",
            "abc\u{202e}txt",
        ] {
            assert!(name_concern(bad).is_some(), "{bad}");
        }
        assert_eq!(normalized("e\u{301}"), "\u{e9}");
        assert!(matches!(normalized("plain"), Cow::Borrowed(_)));
    }
}
