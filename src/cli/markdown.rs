//! A plan as a pull-request comment: a summary line, a table of counts per package and kind,
//! then one collapsible section per package holding the same lines as the text plan, and the
//! warnings. Cut to fit a comment, saying what was left out.
//!
//! Everything from inputs is made inert: names, paths and messages outside the blocks are code
//! spans (`<code>` in section titles), where nothing is markup, a link or an @mention, and each
//! block of plan lines is fenced with more backticks than it holds in a row.

use std::fmt::Write;
use std::path::Path;

use super::render::{package_body, warning_lines};
use crate::plan::Plan;
use crate::report::Report;
use crate::text::escape_controls;

/// The largest comment written, in bytes: code hosts accept about 65,536 characters.
pub const COMMENT_MAX: usize = 60_000;

/// Room kept for the closing note about what was cut.
const NOTE_ROOM: usize = 600;

/// Characters of one input text (a name, a path, a message) shown outside the fenced blocks.
const TEXT_CHARS: usize = 200;

/// `text` on one line (controls escaped), cut to [`TEXT_CHARS`] characters (`…` where cut).
fn one_line(text: &str) -> String {
    let text = escape_controls(text);
    match text.char_indices().nth(TEXT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.into_owned(),
    }
}

/// A text from inputs as an inert Markdown code span: nothing in it is markup, a link, an
/// autolink or an @mention (code hosts leave code alone). In a table cell (`table`), a `|`
/// would still end the cell and is escaped, as tables allow even inside code spans.
fn code(text: &str, table: bool) -> String {
    let mut text = one_line(text);
    if table {
        text = text.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    // A space on each side when the text starts or ends with a backtick or a space, which
    // the code span would otherwise take as its fence or strip.
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A text from inputs as inert HTML code, for the `<summary>` of a section.
fn html_code(text: &str) -> String {
    let mut out = String::from("<code>");
    for c in one_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out.push_str("</code>");
    out
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for x in text.chars() {
        run = if x == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// `text` in a fenced block whose fence is longer than any run of backticks in it.
fn fenced(text: &str) -> String {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    format!("{fence}text\n{text}{fence}\n")
}

/// The plan as Markdown of at most `max` bytes; `summary` leaves out the per-package details.
/// The plan must be made safe to show first ([`super::render::make_shown`]).
pub fn plan_shown(plan: &Plan, base: &Path, summary: bool, max: usize) -> String {
    let at = |p: &str| escape_controls(&crate::fsutil::shown_from(base, p)).into_owned();
    let s = &plan.summary;
    let mut out = String::new();
    let env = plan
        .spec
        .env
        .as_deref()
        .map(|e| format!(" (env {})", code(e, false)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "### hoist plan: {}{env}\n",
        code(&plan.spec.name, false)
    );
    let _ = writeln!(
        out,
        "spec {} sha256 `{}` · **{} create, {} overwrite, {} unchanged, {} skip, {} fail, {} renamed, {} warnings**\n",
        code(&plan.spec.path, false),
        plan.spec.sha256.short(),
        s.create,
        s.overwrite,
        s.unchanged,
        s.skip,
        s.fail,
        s.renamed,
        s.warnings
    );
    if let Some(a) = &plan.abort {
        let _ = writeln!(
            out,
            "**ABORT: nothing will be written** — {} {}\n",
            code(&a.code, false),
            code(&a.message, false)
        );
    }
    let _ = writeln!(
        out,
        "| source | kind | create | overwrite | unchanged | skip | fail | renamed |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|");
    let report = Report::new(plan, "planned", Vec::new());
    let (mut rows, mut rows_cut) = (0usize, 0usize);
    for p in &report.packages {
        for (kind, c) in &p.kinds {
            let row = format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                code(&at(&p.source), true),
                code(kind, true),
                c.create,
                c.overwrite,
                c.unchanged,
                c.skip,
                c.fail,
                c.renamed
            );
            if rows_cut > 0 || out.len() + row.len() + NOTE_ROOM > max {
                rows_cut += 1;
            } else {
                out.push_str(&row);
                rows += 1;
            }
        }
    }
    out.push('\n');
    let mut sections = Vec::new();
    if !summary {
        for p in &plan.packages {
            let mut body = String::new();
            package_body(&mut body, p);
            sections.push((
                format!(
                    "{} → {}",
                    html_code(&at(&p.source)),
                    html_code(&at(&p.output))
                ),
                body,
            ));
        }
    }
    if !plan.warnings.is_empty() {
        let mut body = String::new();
        warning_lines(&mut body, &plan.warnings, &at);
        sections.push((format!("warnings ({})", plan.warnings.len()), body));
    }
    let total = sections.len();
    let mut shown = 0;
    for (title, body) in sections {
        let section = format!(
            "<details><summary>{title}</summary>\n\n{}\n</details>\n\n",
            fenced(&body)
        );
        if out.len() + section.len() + NOTE_ROOM > max {
            break;
        }
        out.push_str(&section);
        shown += 1;
    }
    let mut cut = Vec::new();
    if rows_cut > 0 {
        cut.push(format!("{rows_cut} of {} table rows", rows + rows_cut));
    }
    if shown < total {
        cut.push(format!("{} of {total} sections", total - shown));
    }
    if !cut.is_empty() {
        let _ = writeln!(
            out,
            "> {} were left out to keep this comment under {max} bytes; `hoist plan --json` gives the whole plan.",
            cut.join(" and ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{code, fenced, html_code};
    use crate::digest::Digest;
    use crate::plan::{InputDigests, PackagePlan, Plan, SpecInfo, Summary};

    fn plan_of(packages: usize) -> Plan {
        Plan {
            format: crate::plan::PLAN_FORMAT,
            generator: "hoist".into(),
            spec: SpecInfo {
                path: "spec.yaml".into(),
                name: "big".into(),
                env: None,
                sha256: Digest::of(b""),
                env_vars: Vec::new(),
            },
            inputs: InputDigests {
                hooks: BTreeMap::new(),
                sources: BTreeMap::new(),
                target: None,
            },
            packages: (0..packages)
                .map(|i| PackagePlan {
                    source: format!("in/p{i}"),
                    layout: crate::package::Layout::Hoist,
                    output: format!("out/p{i}.zip"),
                    assets: Vec::new(),
                })
                .collect(),
            merged: None,
            warnings: Vec::new(),
            logs: Vec::new(),
            abort: None,
            summary: Summary::default(),
            kie: Vec::new(),
        }
    }

    /// The comment on `plan`, made safe to show first as the command does.
    fn shown_md(mut plan: Plan, summary: bool, max: usize) -> String {
        crate::cli::render::make_shown(&mut plan);
        super::plan_shown(&plan, std::path::Path::new("."), summary, max)
    }

    #[test]
    fn a_plan_too_big_for_a_comment_is_cut_and_says_so() {
        let all = shown_md(plan_of(40), false, usize::MAX);
        assert_eq!(all.matches("<details>").count(), 40);
        assert!(!all.contains("left out"));
        let cut = shown_md(plan_of(40), false, 3_000);
        assert!(cut.len() <= 3_000, "{} bytes", cut.len());
        let kept = cut.matches("<details>").count();
        assert!(kept > 0 && kept < 40, "{kept} sections");
        assert!(
            cut.contains(&format!("{} of 40 sections were left out", 40 - kept)),
            "{cut}"
        );
    }

    #[test]
    fn the_header_and_table_count_against_the_size_too() {
        let mut plan = plan_of(3_000);
        plan.spec.name = "n".repeat(100_000);
        for (i, p) in plan.packages.iter_mut().enumerate() {
            p.assets.push(crate::plan::AssetPlan::bare(
                &format!("kind-{i}"),
                "a",
                crate::model::Version::None,
                crate::plan::Action::Create,
            ));
        }
        let max = super::COMMENT_MAX;
        let md = shown_md(plan, true, max);
        assert!(md.len() <= max, "{} bytes", md.len());
        assert!(md.contains(&format!("### hoist plan: `{}…`", "n".repeat(200))));
        let rows = md.matches("| `kind-").count();
        assert!(rows > 100 && rows < 3_000, "{rows} rows");
        assert!(
            md.contains(&format!("{} of 3000 table rows", 3_000 - rows)),
            "{}",
            &md[md.len() - 300..]
        );
    }

    #[test]
    fn inputs_cannot_break_out_of_cells_or_fences() {
        assert_eq!(code("a|b<script>", true), "`a\\|b<script>`");
        assert_eq!(
            code("@team https://x.example", false),
            "`@team https://x.example`"
        );
        assert_eq!(code("x`y", false), "``x`y``");
        assert_eq!(code("`x", false), "`` `x ``");
        // A line break shows as its escape.
        assert_eq!(code("line\nbreak", false), "`line\\u{a}break`");
        assert_eq!(
            code(&"é".repeat(300), false),
            format!("`{}…`", "é".repeat(200))
        );
        assert_eq!(html_code("<b>&\"@x"), "<code>&lt;b&gt;&amp;&quot;@x</code>");
        assert_eq!(fenced("x\n"), "```text\nx\n```\n");
        assert_eq!(fenced("a ```` b\n"), "`````text\na ```` b\n`````\n");
    }
}
