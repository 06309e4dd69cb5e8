//! Plans and reports as text for people: a plan for a pull request, grouped by package and
//! kind, renames as `old → new`; the report of an apply as a table with its errors.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use super::table::render;
use crate::model::Version;
use crate::plan::{Action, AssetPlan, Note, Plan};
use crate::report::Report;
use crate::text::escape_controls;

/// A text shown on one line: control characters (line breaks too) as visible escapes.
fn one_line(t: &mut String) {
    if let std::borrow::Cow::Owned(e) = crate::text::escape_line(t) {
        *t = e;
    }
}

fn symbol(a: Action) -> char {
    match a {
        Action::Create => '+',
        Action::Overwrite => '~',
        Action::Unchanged => '·',
        Action::Skip => '=',
        Action::Fail => '!',
    }
}

fn label(name: &str, version: Version) -> String {
    match version {
        Version::None => name.to_string(),
        v => format!("{name}@{v}"),
    }
}

fn note_line(out: &mut String, indent: &str, n: &Note, at: &dyn Fn(&str) -> String) {
    let mut line = format!("{indent}[{}] ", n.code);
    let who: Vec<String> = [n.package.as_deref().map(at), n.asset.clone()]
        .into_iter()
        .flatten()
        .collect();
    if !who.is_empty() {
        line.push_str(&who.join(": "));
        line.push_str(": ");
    }
    line.push_str(&n.message);
    let _ = writeln!(out, "{line}");
    if let Some(h) = &n.hint {
        let _ = writeln!(out, "{indent}  hint: {h}");
    }
}

fn asset_lines(out: &mut String, a: &AssetPlan) {
    let mut title = label(&a.name, a.version);
    if !a.labels.is_empty() {
        let l: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        title = format!("{title} {{{}}}", l.join(","));
    }
    let out_version = a.output_version.unwrap_or(a.version);
    if a.output_name != a.name || out_version != a.version {
        title = format!("{title} → {}", label(&a.output_name, out_version));
    }
    let _ = writeln!(
        out,
        "    {} {title}  ({})",
        symbol(a.action),
        a.action.word()
    );
    if let Some(script) = &a.dropped {
        let _ = writeln!(out, "        dropped by {script}");
    }
    for r in &a.renames {
        let _ = writeln!(out, "        rename {} → {}  by {}", r.from, r.to, r.by);
    }
    if !a.stripped.is_empty() {
        let _ = writeln!(out, "        strip {}", a.stripped.join(", "));
    }
    for o in &a.overrides {
        let _ = writeln!(
            out,
            "        {} {} = {}  ({})",
            o.op.word(),
            o.pointer,
            o.value,
            o.at
        );
    }
    for r in &a.references {
        let _ = writeln!(
            out,
            "        ref {} {}/{} → {}",
            r.pointer, r.kind, r.from, r.to
        );
    }
    diff_lines(out, a);
    if let Some(e) = &a.error {
        let _ = writeln!(out, "        error [{}] {}", e.code, e.message);
        if let Some(h) = &e.hint {
            let _ = writeln!(out, "          hint: {h}");
        }
    }
    for n in &a.after_import {
        let _ = writeln!(out, "        after import: {}", n.message);
    }
}

/// Changes shown per asset; the rest are counted (the plan's JSON holds them all).
const DIFF_LINES: usize = 12;
/// Lines of a text payload's diff shown per file.
const FILE_LINES: usize = 20;
/// Warnings and hook log lines a report shows; the rest are counted.
const REPORT_LINES: usize = 20;

/// How much human output shows (`-q`, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Errors and the summary line.
    Quiet,
    /// The default: everything, long lists cut with a count.
    Normal,
    /// Nothing cut.
    Verbose,
}

/// The detail this process shows; set once, from the command line, before anything is drawn.
static DETAIL: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

/// Sets the detail human output shows.
pub fn set_detail(d: Detail) {
    let n = match d {
        Detail::Quiet => 0,
        Detail::Normal => 1,
        Detail::Verbose => 2,
    };
    DETAIL.store(n, std::sync::atomic::Ordering::Relaxed);
}

fn detail() -> Detail {
    match DETAIL.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Detail::Quiet,
        2 => Detail::Verbose,
        _ => Detail::Normal,
    }
}

/// At most `n` of a list, or all of it with `-v`.
fn cap(n: usize) -> usize {
    if detail() == Detail::Verbose {
        usize::MAX
    } else {
        n
    }
}
/// Characters of a value shown in a diff line.
const VALUE_CHARS: usize = 60;

fn value_text(v: &serde_json::Value) -> String {
    let t = v.to_string();
    if t.chars().count() <= VALUE_CHARS {
        t
    } else {
        let cut: String = t.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    }
}

/// A change's values (old → new, or the one there is) and the step that made it.
fn change_text(c: &crate::diff::Change) -> String {
    let values = match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{} → {}", value_text(o), value_text(n)),
        (None, Some(v)) | (Some(v), None) => value_text(v),
        (None, None) => String::new(),
    };
    match &c.by {
        Some(b) => format!("{values}  ({b})"),
        None => values,
    }
}

/// The field-level difference of an asset, bounded, with a count of what is left out.
fn diff_lines(out: &mut String, a: &AssetPlan) {
    if a.diff.is_empty() && a.files.is_empty() && a.label_diff.is_empty() {
        return;
    }
    let what = if a.action == Action::Create {
        "changed by hooks"
    } else {
        "against the target"
    };
    let _ = writeln!(out, "        {what}:");
    for c in &a.label_diff {
        let name = c.pointer.trim_start_matches('/');
        let _ = writeln!(
            out,
            "          {} label {name}: {}",
            c.op.sign(),
            change_text(c)
        );
    }
    let max = cap(DIFF_LINES);
    for c in a.diff.iter().take(max) {
        let place = if c.pointer.is_empty() {
            "(document)"
        } else {
            &c.pointer
        };
        let _ = writeln!(out, "          {} {place}: {}", c.op.sign(), change_text(c));
    }
    file_changes(
        out,
        a.files.iter().take(max.saturating_sub(a.diff.len())),
        "          ",
    );
    let shown = max.min(a.diff.len() + a.files.len());
    let cut = a.diff.len() + a.files.len() - shown;
    if cut > 0 {
        let _ = writeln!(
            out,
            "          … and {cut} more changes (hoist plan --json lists them all)"
        );
    }
}

/// Warnings of one code on one kind of asset shown one by one, up to this many; past it the
/// group shows its first few and a count.
const GROUP_SHOWN: usize = 3;

/// The kind of asset a note names (`api` of `api/orders@1`), or `""`.
fn kind_of(n: &Note) -> &str {
    n.asset
        .as_deref()
        .and_then(|a| a.split_once('/'))
        .map_or("", |(k, _)| k)
}

/// Warnings grouped by code and asset kind, in order of first appearance.
pub(super) fn warning_groups(warnings: &[Note]) -> Vec<((&str, &str), Vec<&Note>)> {
    let mut groups: Vec<((&str, &str), Vec<&Note>)> = Vec::new();
    let mut index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for w in warnings {
        let key = (w.code.as_str(), kind_of(w));
        let i = *index.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(w);
    }
    groups
}

/// The warnings: one line each, or, when some code repeats on many assets of a kind, grouped
/// by code and kind with a count (the plan's JSON lists every one).
pub(super) fn warning_lines(out: &mut String, warnings: &[Note], at: &dyn Fn(&str) -> String) {
    let groups = warning_groups(warnings);
    if groups.iter().all(|(_, g)| g.len() <= GROUP_SHOWN) {
        for w in warnings {
            note_line(out, "  ", w, at);
        }
        return;
    }
    for ((code, kind), group) in groups {
        if group.len() <= GROUP_SHOWN {
            for w in group {
                note_line(out, "  ", w, at);
            }
            continue;
        }
        let on = if kind.is_empty() {
            String::new()
        } else {
            format!(" on {kind} assets")
        };
        let _ = writeln!(
            out,
            "  [{code}] {} warnings{on}; the first {GROUP_SHOWN}:",
            group.len()
        );
        for w in group.iter().take(GROUP_SHOWN) {
            note_line(out, "    ", w, at);
        }
        let _ = writeln!(
            out,
            "    … and {} more (hoist plan --json lists them all)",
            group.len() - GROUP_SHOWN
        );
    }
}

/// The plan's counts only: per package and kind, the warnings by code, the summary. The plan
/// must be made safe to show first ([`make_shown`]).
pub fn plan_summary_shown(plan: &Plan, base: &Path) -> String {
    let at = |p: &str| escape_controls(&crate::fsutil::shown_from(base, p)).into_owned();
    let mut out = plan_title(plan);
    out.push('\n');
    let report = Report::new(plan, "planned", Vec::new());
    out.push_str(&counts_table(&report.packages, &at));
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings ({}):", plan.warnings.len());
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        for w in &plan.warnings {
            *by_code.entry(w.code.as_str()).or_default() += 1;
        }
        for (code, n) in by_code {
            let _ = writeln!(out, "  [{code}] {n}");
        }
    }
    summary_line(&mut out, &plan.summary);
    out
}

fn summary_line(out: &mut String, s: &crate::plan::Summary) {
    let _ = writeln!(
        out,
        "\nsummary: {} create, {} overwrite, {} unchanged, {} skip, {} fail, {} renamed, {} warnings",
        s.create, s.overwrite, s.unchanged, s.skip, s.fail, s.renamed, s.warnings
    );
    if let Some(a) = &s.assets {
        let _ = writeln!(
            out,
            "assets (each once, all its versions together): {} create, {} overwrite, {} unchanged, {} skip, {} fail, {} renamed",
            a.create, a.overwrite, a.unchanged, a.skip, a.fail, a.renamed
        );
    }
}

/// Makes `plan` safe to show, in place, for a caller that shows it from now on (a large plan
/// is not copied whole): every text from packages, specs or scripts on one line, as visible
/// escapes, so that a line break in a name or a log cannot forge plan lines. Once only:
/// escaping twice would escape the escapes.
pub fn make_shown(plan: &mut Plan) {
    plan.each_text(&mut one_line);
    plan.spec.name = escape_controls(&plan.spec.name).into_owned();
    plan.spec.path = escape_controls(&plan.spec.path).into_owned();
    plan.spec.env = plan
        .spec
        .env
        .take()
        .map(|e| escape_controls(&e).into_owned());
}

/// The assets of one package, by kind, with what happens to each.
pub(super) fn package_body(out: &mut String, p: &crate::plan::PackagePlan) {
    if p.assets.is_empty() {
        let _ = writeln!(out, "    (nothing selected)");
    }
    let mut by_kind: BTreeMap<&str, Vec<&AssetPlan>> = BTreeMap::new();
    for a in &p.assets {
        by_kind.entry(a.kind.as_str()).or_default().push(a);
    }
    for (kind, assets) in by_kind {
        let _ = writeln!(out, "  {kind}");
        for a in assets {
            asset_lines(out, a);
        }
    }
}

/// The first line of a plan: its name, environment, spec and the spec's digest (of a plan
/// already made safe to show, see [`make_shown`]).
fn plan_title(plan: &Plan) -> String {
    let env = plan
        .spec
        .env
        .as_deref()
        .map(|e| format!(" (env {e})"))
        .unwrap_or_default();
    format!(
        "plan {}{env}: spec {} sha256 {}\n",
        plan.spec.name,
        plan.spec.path,
        plan.spec.sha256.short()
    )
}

/// Renders a plan for people; paths are shown from the working folder, given the spec's
/// folder `base`. The plan must be made safe to show first ([`make_shown`]).
pub fn plan_shown(plan: &Plan, base: &Path) -> String {
    let mut all = String::new();
    plan_shown_in_pieces(plan, base, &mut |piece| {
        all.push_str(piece);
        Ok(())
    })
    .expect("a string takes every piece");
    all
}

/// How much of a plan's text is made before it is handed on.
const PIECE: usize = 256 << 10;

/// [`plan_shown`], handed to `emit` in pieces as it is made, each ending at a line break: the
/// text of a large run's plan is tens of megabytes, which need not be held whole.
pub fn plan_shown_in_pieces(
    plan: &Plan,
    base: &Path,
    emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let at = |p: &str| escape_controls(&crate::fsutil::shown_from(base, p)).into_owned();
    let mut out = plan_title(plan);
    if detail() == Detail::Quiet {
        // Errors and the summary only.
        let errors: Vec<&Note> = plan
            .packages
            .iter()
            .flat_map(|p| &p.assets)
            .filter_map(|a| a.error.as_deref())
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nerrors ({}):", errors.len());
            for e in errors {
                note_line(&mut out, "  ", e, &at);
            }
        }
        if let Some(a) = &plan.abort {
            let _ = writeln!(out, "\nABORT: nothing will be written");
            note_line(&mut out, "  ", a, &at);
        }
        summary_line(&mut out, &plan.summary);
        return emit(&out);
    }
    for p in &plan.packages {
        let _ = writeln!(out, "\n{} → {}", at(&p.source), at(&p.output));
        package_body(&mut out, p);
        if out.len() >= PIECE {
            emit(&out)?;
            out.clear();
        }
    }
    if let Some(m) = &plan.merged {
        let _ = writeln!(out, "\nmerged target state → {}", at(m));
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings ({}):", plan.warnings.len());
        warning_lines(&mut out, &plan.warnings, &at);
    }
    if !plan.logs.is_empty() {
        let _ = writeln!(out, "\nhook logs ({}):", plan.logs.len());
        for l in &plan.logs {
            note_line(&mut out, "  ", l, &at);
        }
    }
    if let Some(a) = &plan.abort {
        let _ = writeln!(out, "\nABORT: nothing will be written");
        note_line(&mut out, "  ", a, &at);
    }
    summary_line(&mut out, &plan.summary);
    emit(&out)
}

/// `package: asset` of a note, the package shown from the working folder.
/// `package: asset: `, or nothing for a note about the whole run.
fn who(n: &Note, at: &dyn Fn(&str) -> String) -> String {
    [n.package.as_deref().map(at), n.asset.clone()]
        .into_iter()
        .flatten()
        .map(|w| format!("{w}: "))
        .collect()
}

/// Counts per source package and asset kind, as a table.
fn counts_table(packages: &[crate::report::PackageReport], at: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rows = Vec::new();
    for p in packages {
        if p.kinds.is_empty() {
            rows.push(vec![
                at(&p.source),
                "-".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                "0".into(),
            ]);
        }
        for (i, (kind, c)) in p.kinds.iter().enumerate() {
            rows.push(vec![
                if i == 0 { at(&p.source) } else { String::new() },
                kind.clone(),
                c.create.to_string(),
                c.overwrite.to_string(),
                c.unchanged.to_string(),
                c.skip.to_string(),
                c.fail.to_string(),
                c.renamed.to_string(),
            ]);
        }
    }
    out.push_str(&render(
        &[
            "SOURCE",
            "KIND",
            ">CREATE",
            ">OVERWRITE",
            ">UNCHANGED",
            ">SKIP",
            ">FAIL",
            ">RENAMED",
        ],
        &rows,
    ));
    out
}

/// Renders the report of an apply for people; paths are shown from the working folder, given
/// the spec's folder `base`.
pub fn report(report: &Report, base: &Path) -> String {
    // Only the warnings and logs shown are made safe to show (a large run has tens of
    // thousands of warnings, and shows the first few); the counts are the report's.
    let max = cap(REPORT_LINES);
    let (warnings, logs) = (report.warnings.len(), report.logs.len());
    let mut shown = report.clone();
    shown.warnings = report.warnings.iter().take(max).cloned().collect();
    shown.logs = report.logs.iter().take(max).cloned().collect();
    for n in shown
        .errors
        .iter_mut()
        .chain(shown.warnings.to_mut())
        .chain(shown.logs.to_mut())
        .chain(&mut shown.abort)
        .chain(&mut shown.after_import)
    {
        n.each_text(&mut one_line);
    }
    shown.name = escape_controls(&shown.name).into_owned();
    let report = &shown;
    let at = |p: &str| escape_controls(&crate::fsutil::shown_from(base, p)).into_owned();
    let mut out = String::new();
    let env = report
        .env
        .as_deref()
        .map(|e| format!(" (env {e})"))
        .unwrap_or_default();
    let _ = writeln!(out, "apply {}{env}: {}\n", report.name, report.outcome);
    if detail() == Detail::Quiet {
        for e in &report.errors {
            let _ = writeln!(out, "  [{}] {}{}", e.code, who(e, &at), e.message);
        }
        if let Some(a) = &report.abort {
            let _ = writeln!(out, "\naborted: [{}] {}{}", a.code, who(a, &at), a.message);
        }
        summary_line(&mut out, &report.summary);
        return out;
    }
    out.push_str(&counts_table(&report.packages, &at));
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\nerrors ({}):", report.errors.len());
        for e in &report.errors {
            let _ = writeln!(out, "  [{}] {}{}", e.code, who(e, &at), e.message);
            if let Some(h) = &e.hint {
                let _ = writeln!(out, "    hint: {h}");
            }
        }
    }
    if warnings > 0 {
        let _ = writeln!(out, "\nwarnings ({warnings}):");
        for w in report.warnings.iter() {
            let _ = writeln!(out, "  [{}] {}{}", w.code, who(w, &at), w.message);
        }
        if warnings > max {
            let _ = writeln!(out, "  … and {} more in report.json", warnings - max);
        }
    }
    if logs > 0 {
        let _ = writeln!(out, "\nhook logs ({logs}):");
        for l in report.logs.iter() {
            let _ = writeln!(out, "  {}{}", who(l, &at), l.message);
        }
        if logs > max {
            let _ = writeln!(out, "  … and {} more in report.json", logs - max);
        }
    }
    if let Some(a) = &report.abort {
        let _ = writeln!(out, "\naborted: [{}] {}{}", a.code, who(a, &at), a.message);
    }
    // The operator's to-do list: every step, none cut.
    if !report.after_import.is_empty() {
        let n = report.after_import.len();
        let steps = if n == 1 { "step" } else { "steps" };
        let _ = writeln!(out, "\nafter import ({n} {steps} on the platform):");
        for n in &report.after_import {
            let _ = writeln!(out, "  [ ] {}{}", who(n, &at), n.message);
        }
    }
    let _ = writeln!(out, "\nwritten:");
    if report.written.is_empty() {
        let _ = writeln!(out, "  (nothing)");
    }
    for w in &report.written {
        let _ = writeln!(out, "  {}", at(w));
    }
    if !report.not_written.is_empty() {
        let _ = writeln!(out, "not written:");
        for w in &report.not_written {
            let _ = writeln!(out, "  {}", at(w));
        }
    }
    summary_line(&mut out, &report.summary);
    out
}

/// Changed payload files, one line each (digest and size), with the changed lines of small
/// text files; every line starts with `indent`.
pub(super) fn file_changes<'a>(
    out: &mut String,
    files: impl Iterator<Item = &'a crate::plan::FileChange>,
    indent: &str,
) {
    for f in files {
        let side = |i: &Option<crate::plan::FileInfo>| {
            i.as_ref()
                .map(|i| format!("sha256 {} ({} B)", i.sha256.short(), i.size))
                .unwrap_or_else(|| "(unreadable)".into())
        };
        let what = match f.op {
            crate::diff::Op::Added => side(&f.new),
            crate::diff::Op::Removed => side(&f.old),
            crate::diff::Op::Changed => format!("{} → {}", side(&f.old), side(&f.new)),
        };
        let _ = writeln!(out, "{indent}{} file {}: {what}", f.op.sign(), f.path);
        if f.op == crate::diff::Op::Changed && f.lines.is_empty() {
            let _ = writeln!(
                out,
                "{indent}    (no lines shown: not text, over 64 KiB or 4000 lines on a side, or it names a credential)"
            );
        }
        let max = cap(FILE_LINES);
        for l in f.lines.iter().take(max) {
            let _ = writeln!(out, "{indent}    {l}");
        }
        if f.lines.len() > max {
            let _ = writeln!(out, "{indent}    … {} more lines", f.lines.len() - max);
        }
    }
}
