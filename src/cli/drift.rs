//! `hoist diff A B`: how package B differs from package A, field by field.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::error::{Error, exit};
use crate::package::{Layout, Limits, LoadOptions, Package};
use crate::plan::changes::Lines;
use crate::plan::drift::{Drift, drift};
use crate::text::escape_line;

/// Changes shown per asset in the text; `--json` lists them all.
const SHOWN: usize = 20;

pub fn run(
    a: &Path,
    b: &Path,
    layout: Option<Layout>,
    json: bool,
    exit_code: bool,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let load = |path: &Path, layout: Option<Layout>| {
        Package::load(
            path,
            &LoadOptions {
                layout,
                ..crate::platform::load_options(*limits)
            },
        )
    };
    let pa = load(a, layout)?;
    let pb = load(b, Some(layout.unwrap_or(pa.layout)))?;
    for (p, path) in [(&pa, a), (&pb, b)] {
        if let Some(f) = p.failures.first() {
            return Err(Error::Usage(format!(
                "{}: {} cannot be read ({}): [{}] {}",
                path.display(),
                f.asset,
                p.failures.len(),
                f.code,
                f.message
            )));
        }
    }
    let platform = crate::plan::platform::platform_of(crate::platform::ALL, pa.layout)?;
    let shown = (a.display().to_string(), b.display().to_string());
    let d = drift(&pa, &pb, platform, (&shown.0, &shown.1), Lines::Shown);
    if json {
        let mut text = serde_json::to_string_pretty(&d).expect("drift serialises");
        text.push('\n');
        super::print_json(&text)?;
    } else {
        super::print_out(&render(&d))?;
    }
    Ok(ExitCode::from(if exit_code && !d.drift.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    }))
}

fn render(d: &Drift) -> String {
    let one = |t: &str| escape_line(t).into_owned();
    let mut out = String::new();
    let _ = writeln!(out, "diff {} → {}", one(&d.a), one(&d.b));
    if d.drift.is_empty() {
        let _ = writeln!(out, "\nno difference in {} assets", d.assets);
        return out;
    }
    let mut kind = "";
    for a in &d.drift {
        if a.kind != kind {
            kind = &a.kind;
            let _ = writeln!(out, "\n  {}", one(kind));
        }
        let version = match a.version {
            crate::model::Version::None => String::new(),
            v => format!("@{v}"),
        };
        let _ = writeln!(out, "    {} {}{version}", a.op.sign(), one(&a.name));
        let values = |c: &crate::diff::Change| {
            let v = |v: &Option<serde_json::Value>| v.as_ref().map(|v| one(&v.to_string()));
            match (v(&c.old), v(&c.new)) {
                (Some(o), Some(n)) => format!("{o} → {n}"),
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => String::new(),
            }
        };
        for c in &a.labels {
            let name = one(c.pointer.trim_start_matches('/'));
            let _ = writeln!(out, "        {} label {name}: {}", c.op.sign(), values(c));
        }
        for c in a.diff.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "        {} {}: {}",
                c.op.sign(),
                one(&c.pointer),
                values(c)
            );
        }
        if a.diff.len() > SHOWN {
            let _ = writeln!(
                out,
                "        … and {} more (hoist diff --json lists them all)",
                a.diff.len() - SHOWN
            );
        }
        for f in &a.files {
            let _ = writeln!(out, "        {} file {}", f.op.sign(), one(&f.path));
            for l in f.lines.iter().take(SHOWN) {
                let _ = writeln!(out, "            {}", one(l));
            }
        }
    }
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for a in &d.drift {
        match a.op {
            crate::diff::Op::Added => added += 1,
            crate::diff::Op::Removed => removed += 1,
            crate::diff::Op::Changed => changed += 1,
        }
    }
    let _ = writeln!(
        out,
        "\nsummary: {added} only in B, {removed} only in A, {changed} changed, of {} assets",
        d.assets
    );
    out
}
