//! Name patterns: globs, or regular expressions after `re:`, matching the whole name.

use globset::{Glob, GlobMatcher};
use regex::Regex;

/// One name pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A glob such as `orders-*`.
    Glob(GlobMatcher),
    /// A regular expression, anchored at both ends.
    Regex(Regex),
}

impl Pattern {
    /// Parses `text`: `re:` then a regular expression, or a glob.
    pub fn parse(text: &str) -> Result<Pattern, (&'static str, String)> {
        if let Some(re) = text.strip_prefix("re:") {
            Regex::new(&format!("^(?:{re})$"))
                .map(Pattern::Regex)
                .map_err(|e| ("spec.bad_regex", regex_message(&e)))
        } else {
            Glob::new(text)
                .map(|g| Pattern::Glob(g.compile_matcher()))
                .map_err(|e| ("spec.bad_glob", format!("bad glob pattern: {}", e.kind())))
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Glob(g) => g.is_match(name),
            Pattern::Regex(r) => r.is_match(name),
        }
    }
}

/// The useful line of a regex compile error.
pub fn regex_message(e: &regex::Error) -> String {
    let msg = e.to_string();
    let line = msg.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(&msg);
    format!(
        "bad regular expression: {}",
        line.trim().trim_start_matches("error: ")
    )
}

/// A set of patterns; a name matches if any pattern does. An empty set matches every name.
#[derive(Debug, Clone, Default)]
pub struct Names(pub Vec<Pattern>);

impl Names {
    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| p.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_regexes_match_whole_names() {
        let g = Pattern::parse("orders-*").unwrap();
        assert!(g.matches("orders-list") && !g.matches("my-orders-list"));
        let r = Pattern::parse("re:v[0-9]+-.*").unwrap();
        assert!(r.matches("v1-x") && !r.matches("xv1-x"));
        assert_eq!(Pattern::parse("re:(").unwrap_err().0, "spec.bad_regex");
        assert_eq!(Pattern::parse("a[").unwrap_err().0, "spec.bad_glob");
        assert!(Names::default().matches("anything"));
    }
}
