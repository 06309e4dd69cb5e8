//! The rules every entry name must pass, for ZIP entries and directory files alike.

use super::error::NameProblem;

/// Characters that render like a path separator.
const SEPARATOR_LOOKALIKES: &[char] = &[
    '\u{2215}', // DIVISION SLASH
    '\u{2044}', // FRACTION SLASH
    '\u{29F8}', // BIG SOLIDUS
    '\u{FF0F}', // FULLWIDTH SOLIDUS
    '\u{2216}', // SET MINUS
    '\u{29F9}', // BIG REVERSE SOLIDUS
    '\u{FE68}', // SMALL REVERSE SOLIDUS
    '\u{FF3C}', // FULLWIDTH REVERSE SOLIDUS
];

/// Characters that render like a full stop, so a segment made of them reads as `..`.
const DOT_LOOKALIKES: &[char] = &[
    '.',        // FULL STOP
    '\u{2024}', // ONE DOT LEADER
    '\u{FE52}', // SMALL FULL STOP
    '\u{FF0E}', // FULLWIDTH FULL STOP
];

/// Checks a stored entry name and returns it as a relative, `/`-separated path.
///
/// A trailing `/` (a folder entry) is allowed and kept. The caller decides what to do with
/// folder entries.
pub fn check(raw: &[u8]) -> Result<&str, NameProblem> {
    let name = std::str::from_utf8(raw).map_err(|_| NameProblem::Malformed)?;
    if name.is_empty() {
        return Err(NameProblem::Malformed);
    }
    if name.starts_with('/') {
        return Err(NameProblem::Absolute);
    }
    if name.contains('\\') {
        return Err(NameProblem::Backslash);
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(NameProblem::DriveLetter);
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    if body.is_empty() {
        return Err(NameProblem::Malformed);
    }
    for segment in body.split('/') {
        check_segment(segment)?;
    }
    Ok(name)
}

fn check_segment(segment: &str) -> Result<(), NameProblem> {
    if segment == ".." {
        return Err(NameProblem::ParentDir);
    }
    if segment.is_empty() || segment == "." {
        return Err(NameProblem::Malformed);
    }
    if segment.chars().any(|c| c.is_control()) {
        return Err(NameProblem::Malformed);
    }
    if segment.contains(SEPARATOR_LOOKALIKES) {
        return Err(NameProblem::Lookalike);
    }
    if segment.chars().count() >= 2 && segment.chars().all(|c| DOT_LOOKALIKES.contains(&c)) {
        return Err(NameProblem::Lookalike);
    }
    Ok(())
}

/// Checks one path segment that hoist itself will create (an asset name becoming a folder).
pub fn check_segment_name(segment: &str) -> Result<(), NameProblem> {
    if segment.contains('/') {
        return Err(NameProblem::Malformed);
    }
    if segment.contains('\\') {
        return Err(NameProblem::Backslash);
    }
    check_segment(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "hoist.json",
            "assets/api/orders list/asset.json",
            "assets/api/注文/asset.json",
            "Proj/flows/a/master/",
            "a/.hidden/x",
            "a/b..c",
        ] {
            assert_eq!(check(ok.as_bytes()), Ok(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_each_trick_with_its_own_problem() {
        let cases: &[(&[u8], NameProblem)] = &[
            (b"/etc/passwd", NameProblem::Absolute),
            (b"../x", NameProblem::ParentDir),
            (b"a/../../x", NameProblem::ParentDir),
            (b"C:/windows", NameProblem::DriveLetter),
            (b"c:x", NameProblem::DriveLetter),
            (b"a\\..\\x", NameProblem::Backslash),
            ("a/\u{2215}etc".as_bytes(), NameProblem::Lookalike),
            ("\u{FF0E}\u{FF0E}/x".as_bytes(), NameProblem::Lookalike),
            (b"", NameProblem::Malformed),
            (b"/", NameProblem::Absolute),
            (b"a//b", NameProblem::Malformed),
            (b"./a", NameProblem::Malformed),
            (b"a\0b", NameProblem::Malformed),
            (b"\xff\xfe", NameProblem::Malformed),
        ];
        for (raw, want) in cases {
            assert_eq!(check(raw), Err(*want), "{:?}", String::from_utf8_lossy(raw));
        }
    }
}
