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

/// The memory every regular expression of one spec may take once compiled, in all. Each
/// expression is compiled forwards and backwards, so it counts twice its size limit.
pub const SPEC_REGEX_BUDGET: usize = 32 << 20;
/// The lazy DFA cache each expression may grow per thread; names are short, so a small cache
/// costs little speed.
const DFA_CACHE: usize = 32 << 10;
/// The first compiled-size limit tried; each retry allows four times as much.
const FIRST_TRY: usize = 8 << 10;

/// What the regular expressions of one spec may still take once compiled. A short pattern can
/// compile to megabytes (`\w{200}` is a large Unicode class repeated 200 times): without a cap
/// on the total, a few kilobytes of spec could need gigabytes.
#[derive(Debug, Clone)]
pub struct RegexBudget {
    left: usize,
    total: usize,
}

impl Default for RegexBudget {
    fn default() -> Self {
        RegexBudget::new(SPEC_REGEX_BUDGET)
    }
}

impl RegexBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        RegexBudget {
            left: bytes,
            total: bytes,
        }
    }

    /// Compiles `pattern` within what is left, and takes what it needs (to within a factor of
    /// four: the compiled size is found by trying growing limits). The error names the pattern.
    pub fn compile(&mut self, pattern: &str, shown: &str) -> Result<Regex, (&'static str, String)> {
        let mut limit = FIRST_TRY;
        let room = |left: usize| left.saturating_sub(DFA_CACHE) / 2;
        loop {
            let tried = limit.min(room(self.left));
            let built = regex::RegexBuilder::new(pattern)
                .size_limit(tried)
                .dfa_size_limit(DFA_CACHE)
                .build();
            match built {
                Ok(re) => {
                    self.left -= 2 * tried + DFA_CACHE;
                    return Ok(re);
                }
                Err(regex::Error::CompiledTooBig(_)) if tried < room(self.left) => {
                    limit = limit.saturating_mul(4);
                }
                Err(regex::Error::CompiledTooBig(_)) => {
                    return Err((
                        "spec.pattern_too_big",
                        format!(
                            "the regular expression `{shown}` needs more memory once compiled than is left of the {} MiB all of a spec's expressions may take ({} KiB left); simplify it (a long repetition of a large class such as \\w{{200}} compiles to megabytes)",
                            self.total >> 20,
                            self.left >> 10
                        ),
                    ));
                }
                Err(e) => return Err(("spec.bad_regex", regex_message(&e))),
            }
        }
    }
}

impl Pattern {
    /// Parses `text`: `re:` then a regular expression, or a glob.
    pub fn parse(text: &str) -> Result<Pattern, (&'static str, String)> {
        Self::parse_within(text, &mut RegexBudget::default())
    }

    /// Parses `text`, its regular expression compiled within `budget`.
    pub fn parse_within(
        text: &str,
        budget: &mut RegexBudget,
    ) -> Result<Pattern, (&'static str, String)> {
        if let Some(re) = text.strip_prefix("re:") {
            budget
                .compile(&format!("^(?:{re})$"), text)
                .map(Pattern::Regex)
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

    #[test]
    fn expressions_share_one_budget_and_the_one_past_it_is_named() {
        let mut budget = RegexBudget::new(8 << 20);
        let mut compiled = 0;
        let err = loop {
            match Pattern::parse_within(r"re:\w{200}", &mut budget) {
                Ok(p) => {
                    assert!(p.matches(&"a".repeat(200)));
                    compiled += 1;
                }
                Err(e) => break e,
            }
            assert!(compiled < 100, "the budget is never used up");
        };
        assert_eq!(err.0, "spec.pattern_too_big");
        assert!(err.1.contains(r"`re:\w{200}`"), "{}", err.1);
        // Small expressions cost little: five hundred fit in the default budget.
        let mut budget = RegexBudget::default();
        for i in 0..500 {
            Pattern::parse_within(&format!("re:^v{i}-[a-z]+$"), &mut budget).unwrap();
        }
    }
}
