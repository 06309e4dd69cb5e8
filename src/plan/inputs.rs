//! Finding and loading the inputs of a spec: source packages (paths or globs, relative to the
//! spec file) and the target snapshot.

use std::collections::{BTreeMap, BTreeSet};

use globset::GlobBuilder;
use rayon::prelude::*;

use crate::error::Error;
use crate::package::{Limits, LoadOptions, Package};
use crate::spec::{Diagnostic, Environment, Spec, SpecErrors};
use crate::yaml::Span;

/// Looks up a process environment variable (injectable for tests).
pub type EnvLookup<'a> = dyn Fn(&str) -> Option<String> + Sync + 'a;

/// A loaded input and its path as written relative to the spec.
pub struct Input {
    /// Its path as written relative to the spec.
    pub shown: String,
    /// The package.
    pub package: Package,
}

/// The inputs of a spec, loaded and hashed.
pub struct Loaded {
    /// The source packages, in path order.
    pub sources: Vec<Input>,
    /// The target snapshot.
    pub target: Option<Input>,
    /// The text of every hook script and of every module they may `require`, by path
    /// relative to the spec: read here, so planning reads nothing from disk.
    pub hooks: BTreeMap<String, std::sync::Arc<str>>,
    /// The merged state the last promotion left where this one writes its merged output,
    /// when it carries hoist's promotion record (see [`crate::plan::provenance`]).
    pub last_merged: Option<(Input, serde_json::Value)>,
}

/// Every input of a planning run, which no output may land on or in: the sources, the
/// target, the spec file, every hook script and the folder its `require` reaches.
pub fn protected(spec: &Spec, loaded: &Loaded) -> Vec<crate::fsutil::Protected> {
    use crate::fsutil::Protected;
    let mut out: Vec<Protected> = loaded
        .sources
        .iter()
        .map(|i| Protected::new(i.package.source.path(), "source"))
        .chain(
            loaded
                .target
                .iter()
                .map(|i| Protected::new(i.package.source.path(), "target")),
        )
        .collect();
    out.push(Protected::new(&spec.path, "spec"));
    for (script, _) in spec.scripts() {
        let path = spec.resolve(&script);
        let folder = crate::fsutil::parent_of(&path).to_path_buf();
        out.push(Protected::new(path, "hook script"));
        out.push(Protected::new(folder, "folder of hook scripts"));
    }
    out
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

/// Paths (shown relative to the spec) that a source pattern names.
fn expand(spec: &Spec, pattern: &str) -> Result<Vec<String>, String> {
    let pattern = pattern.trim_end_matches('/');
    if !is_glob(pattern) {
        let full = spec.resolve(pattern);
        return if full.exists() {
            Ok(vec![pattern.to_string()])
        } else {
            Err(format!("no file or folder at {}", full.display()))
        };
    }
    let parts: Vec<&str> = pattern.split('/').collect();
    let fixed = parts.iter().take_while(|p| !is_glob(p)).count();
    let base: String = parts[..fixed].join("/");
    let depth = if parts[fixed..].contains(&"**") {
        32
    } else {
        parts.len() - fixed
    };
    let glob = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("bad glob pattern: {}", e.kind()))?
        .compile_matcher();
    let mut found = Vec::new();
    let mut stack = vec![(base.clone(), 0usize)];
    while let Some((rel, level)) = stack.pop() {
        if level >= depth {
            continue;
        }
        let dir = if rel.is_empty() {
            spec.dir.clone()
        } else {
            spec.resolve(&rel)
        };
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with(".hoist-") || name.ends_with(".hoist.json") {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if glob.is_match(&child) {
                found.push(child.clone());
            }
            if item.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((child, level + 1));
            }
        }
    }
    found.sort();
    if found.is_empty() {
        Err(format!(
            "`{pattern}` matches no file or folder (relative to {})",
            spec.dir.display()
        ))
    } else {
        Ok(found)
    }
}

/// The name of a package's delta output: its file stem or folder name.
pub fn stem(shown: &str) -> String {
    let last = shown.rsplit('/').next().unwrap_or(shown);
    [".zip", ".json", ".yaml", ".yml"]
        .iter()
        .find_map(|ext| last.strip_suffix(ext))
        .unwrap_or(last)
        .to_string()
}

fn spec_error(spec: &Spec, diags: Vec<Diagnostic>) -> Error {
    Error::Spec(SpecErrors {
        path: spec.path.clone(),
        text: spec.text.clone(),
        diagnostics: diags,
    })
}

/// Resolves and loads every source and the target.
pub(super) fn load(
    spec: &Spec,
    env: Option<&Environment>,
    limits: &Limits,
    layouts: crate::package::Layouts,
) -> Result<Loaded, Error> {
    let mut diags = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for (pattern, span) in &spec.sources {
        match expand(spec, pattern) {
            Ok(paths) => {
                for p in paths {
                    let key = spec
                        .resolve(&p)
                        .canonicalize()
                        .unwrap_or_else(|_| spec.resolve(&p));
                    if seen.insert(key) {
                        shown.push(p);
                    }
                }
            }
            Err(m) => diags.push(Diagnostic::new("spec.source", Some(*span), m)),
        }
    }
    let target = env
        .and_then(|e| e.target.clone())
        .or_else(|| spec.target.clone());
    if let Some((t, span)) = &target
        && !spec.resolve(t).exists()
    {
        diags.push(Diagnostic::new(
            "spec.target",
            Some(*span),
            format!("no target snapshot at {}", spec.resolve(t).display()),
        ));
    }
    if !diags.is_empty() {
        return Err(spec_error(spec, diags));
    }
    let opts = LoadOptions {
        layouts,
        limits: *limits,
        layout: None,
        hashing: crate::package::Hashing::Stored,
    };
    let progress = crate::progress::Progress::new("reading packages", shown.len());
    let mut results: Vec<(String, Result<Package, crate::archive::PackageError>)> = shown
        .into_par_iter()
        // One package per task: a thread that finishes early takes the next package instead
        // of waiting for the other to finish a run of them.
        .with_max_len(1)
        .map(|s| {
            let r = Package::load(&spec.resolve(&s), &opts).map(|p| parked(p, spec));
            progress.tick();
            (s, r)
        })
        .collect();
    progress.finish();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sources = Vec::with_capacity(results.len());
    for (s, r) in results {
        sources.push(Input {
            shown: s,
            package: r?,
        });
    }
    let target = match target {
        Some((t, _)) => Some(Input {
            package: parked(Package::load(&spec.resolve(&t), &opts)?, spec),
            shown: t,
        }),
        None => None,
    };
    let hooks = hook_sources(spec)?;
    Ok(Loaded {
        sources,
        target,
        hooks,
        last_merged: None,
    })
}

/// `pkg` with every document parked (see [`crate::model::Asset::park`]): a plan holds the
/// text of every document, and the parsed tree only of those a stage is working on.
fn parked(mut pkg: Package, spec: &Spec) -> Package {
    for a in &mut pkg.assets {
        a.park(&spec.kinds);
    }
    pkg
}

/// Reads every hook script the spec names and the modules beside it; a script that cannot
/// be read is an error at the place the spec names it.
fn hook_sources(spec: &Spec) -> Result<BTreeMap<String, std::sync::Arc<str>>, Error> {
    let scripts = spec.scripts();
    if scripts.is_empty() {
        return Ok(BTreeMap::new());
    }
    let names: Vec<String> = scripts.iter().map(|(s, _)| s.clone()).collect();
    crate::hooks::read_sources(&spec.dir, &names).map_err(|(script, message)| {
        let span = scripts
            .iter()
            .find(|(s, _)| *s == script)
            .and_then(|(_, sp)| *sp);
        Error::Spec(spec.error_at(span, "hook.script", message))
    })
}

/// Refuses outputs that would not each get a name of their own, directly inside the output
/// folder, before anything is staged: two sources written under one name (or names equal but
/// for case or Unicode composition, which are one file on some disks), a source written where the report or the
/// merged state goes, a name that is not a plain file name. `packages` and `outputs` go
/// together, one per source; errors name each output by what it comes from.
pub fn check_output_names(
    spec: &Spec,
    packages: &[super::PackagePlan],
    outputs: &[super::PackageOutput],
    merged: Option<&super::PackageOutput>,
) -> Result<(), Error> {
    let outputs: Vec<(String, &super::PackageOutput)> = packages
        .iter()
        .map(|p| format!("source {}", p.source))
        .zip(outputs)
        .chain(merged.map(|m| ("the merged target state".to_string(), m)))
        .collect();
    use std::collections::BTreeMap;
    let span = spec.sources.first().map(|(_, sp)| *sp);
    let mut diags = Vec::new();
    let mut taken: BTreeMap<String, (String, String)> = BTreeMap::new();
    taken.insert(
        super::REPORT_NAME.to_lowercase(),
        ("the report".to_string(), super::REPORT_NAME.to_string()),
    );
    for (owner, out) in &outputs {
        for path in out.final_paths() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let shown = crate::text::escape_controls(&name).into_owned();
            if !crate::fsutil::is_plain_name(&name) || name.starts_with(".hoist") {
                diags.push(Diagnostic::new(
                    "spec.output",
                    span,
                    format!(
                        "{owner} would be written as `{shown}`, which is not a name hoist writes directly inside the output folder; rename the source"
                    ),
                ));
                continue;
            }
            // Names equal but for case or Unicode composition are one file on some disks.
            let key = crate::text::normalized(&name.to_lowercase()).into_owned();
            // The reports of a sharded apply (`report-shard-I-of-N.json`) share the folder
            // with every part's outputs, whichever parts a run writes.
            let shard_report = key
                .strip_prefix("report-shard-")
                .and_then(|k| k.strip_suffix(".json"))
                .and_then(|k| k.split_once("-of-"))
                .is_some_and(|(i, n)| {
                    [i, n]
                        .iter()
                        .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                });
            if shard_report {
                diags.push(Diagnostic::new(
                    "spec.output",
                    span,
                    format!(
                        "{owner} would be written as `{shown}`, a name kept for the reports of a sharded apply; rename the source"
                    ),
                ));
                continue;
            }
            if let Some((other, other_name)) = taken.get(&key) {
                let how = if *other_name == name {
                    format!("both be written as {shown}")
                } else {
                    format!(
                        "be written as {} and {shown}, one file on disks that ignore case or Unicode composition",
                        crate::text::escape_controls(other_name)
                    )
                };
                diags.push(Diagnostic::new(
                    "spec.output",
                    span,
                    format!("{other} and {owner} would {how}; rename one of them"),
                ));
            } else {
                taken.insert(key, (owner.clone(), name));
            }
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(spec_error(spec, diags))
    }
}

/// The output folder: as shown (relative to the spec, `--out` too), where it is,
/// and the folder it was written relative to (the spec's, or the working folder).
pub fn output_folder(
    spec: &Spec,
    opts: &super::PlanOptions,
    env: Option<&Environment>,
) -> (String, std::path::PathBuf, std::path::PathBuf) {
    match &opts.out_dir {
        Some(d) => (
            crate::fsutil::relative_to(&spec.dir, d),
            d.clone(),
            std::path::PathBuf::new(),
        ),
        None => {
            let shown = env
                .and_then(|e| e.output.clone())
                .unwrap_or_else(|| spec.output.dir.clone());
            let dir = spec.resolve(&shown);
            (shown, dir, spec.dir.clone())
        }
    }
}

/// A path shown relative to the spec, joined the way hoist writes it.
pub fn join_shown(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// `file:line:column` of a place in the spec, by file name so that it reads the same from
/// any working folder.
pub fn span_text(spec: &Spec, span: Span) -> String {
    let file = spec.path.file_name().map_or_else(
        || spec.path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    format!("{file}:{}:{}", span.start.line, span.start.col)
}
