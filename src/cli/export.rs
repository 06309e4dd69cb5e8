//! `hoist export`: the export side of a ROMA-style instance. Takes chosen apps and tasks (or
//! all of them) from an instance package, with what they need, and writes a new package.

use crate::model::kinds::Kinds;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use crate::archive::write::{Format, ManifestMode, write_package};
use crate::error::{Error, exit};
use crate::model::{Asset, Reference};
use crate::package::{Layout, Limits, LoadOptions, Package, PackageError};
use crate::plan::select::{ByName, reachable};
use crate::yaml::de::did_you_mean;

/// Most apps plus tasks one export job takes, as the platform has it.
pub const MAX_PER_JOB: usize = 100;

/// What to export.
#[derive(Debug, Default)]
pub struct Choice {
    /// Apps by name.
    pub apps: Vec<String>,
    /// Tasks by name.
    pub tasks: Vec<String>,
    /// Every app and task.
    pub all: bool,
    /// Every API of the chosen apps too.
    pub with_apis: bool,
    /// A spec whose declared kinds the closure follows too.
    pub kinds_from: Option<std::path::PathBuf>,
}

/// Names of `kind` the package holds.
fn names_of<'a>(assets: &'a [Asset], kind: &str) -> BTreeSet<&'a str> {
    assets
        .iter()
        .filter(|a| a.key.kind == kind)
        .map(|a| a.key.name.as_str())
        .collect()
}

/// The chosen names of `kind`, each checked against the package.
fn chosen<'a>(
    assets: &'a [Asset],
    kind: &str,
    asked: &'a [String],
    all: bool,
    shown: &str,
) -> Result<BTreeSet<&'a str>, Error> {
    let have = names_of(assets, kind);
    if all {
        return Ok(have);
    }
    // A task is chosen by name or by id, as the platform's export API takes `task_id`
    // (roma-export-assets-in-batches-api.txt: tasks[].task_id).
    let by_id: BTreeMap<String, &str> = assets
        .iter()
        .filter(|a| a.key.kind == kind && kind == "task")
        .filter_map(|a| {
            let meta = a.meta();
            let id = meta.get("id").or_else(|| meta.get("task_id"))?;
            Some((id.as_str()?.to_string(), a.key.name.as_str()))
        })
        .collect();
    let mut out = BTreeSet::new();
    for name in asked {
        if let Some(named) = by_id
            .get(name.as_str())
            .filter(|_| !have.contains(name.as_str()))
        {
            out.insert(*named);
            continue;
        }
        if !have.contains(name.as_str()) {
            let hint = did_you_mean(name, have.iter().copied())
                .map_or_else(String::new, |h| format!("; {h}"));
            return Err(Error::Usage(format!(
                "{shown} holds no {kind} named {name:?}{hint}"
            )));
        }
        out.insert(name.as_str());
    }
    Ok(out)
}

/// The indices of the assets an export of `apps` and `tasks` takes, sorted.
fn closure(
    kinds: &Kinds,
    assets: &[Asset],
    apps: &BTreeSet<&str>,
    tasks: &BTreeSet<&str>,
    with_apis: bool,
) -> Vec<usize> {
    let refs: Vec<Vec<Reference>> = assets
        .iter()
        .map(|a| a.references(kinds).unwrap_or_default())
        .collect();
    let mut by_name: ByName<'_> = BTreeMap::new();
    for (i, a) in assets.iter().enumerate() {
        by_name
            .entry((a.key.kind.as_str(), a.key.name.as_str()))
            .or_default()
            .push(i);
    }
    let seeds: Vec<usize> = (0..assets.len())
        .filter(|&i| {
            let (kind, name) = (assets[i].key.kind.as_str(), assets[i].key.name.as_str());
            (kind == "app" && apps.contains(name)) || (kind == "task" && tasks.contains(name))
        })
        .collect();
    // An app brings what it owns (backends, data sources, tasks, topics, products), and with
    // APIs its API groups with their APIs, variables and domains; everything taken brings
    // what it names (data sources, authorizers, backends, environments, VPC channels).
    let api_side = |j: usize| {
        matches!(
            assets[j].key.kind.as_str(),
            "api_group" | "api" | "env_variable" | "domain" | "api_version"
        )
    };
    let taken = reachable(assets, &refs, &by_name, seeds, true, |j| {
        with_apis || !api_side(j)
    });
    taken.into_iter().collect()
}

/// References of the picked assets to assets the export does not hold, as warnings.
fn unresolved(kinds: &Kinds, picked: &[Asset]) -> BTreeSet<String> {
    let mut missing = BTreeSet::new();
    let present: BTreeSet<(&str, &str)> = picked
        .iter()
        .map(|a| (a.key.kind.as_str(), a.key.name.as_str()))
        .collect();
    for a in picked {
        for r in a.references(kinds).unwrap_or_default() {
            if !present.contains(&(r.kind.as_ref(), r.name.as_str())) {
                missing.insert(format!(
                    "{}: {} names {}/{}",
                    a.key, r.pointer, r.kind, r.name
                ));
            }
        }
    }
    missing
}

/// What `export` prints: what was taken, and the references left outside.
fn summary(
    picked: &[Asset],
    (apps, tasks): (usize, usize),
    choice: &Choice,
    shown: &str,
    output: &Path,
    missing: &BTreeSet<String>,
) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for a in picked {
        *kinds.entry(a.key.kind.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut out = format!(
        "exported {} app(s) and {} task(s){} from {shown} into {}: {}\n",
        apps,
        tasks,
        if choice.all {
            ", every API group and API, and every other asset"
        } else if choice.with_apis {
            " with their APIs"
        } else {
            ""
        },
        output.display(),
        counts.join(", ")
    );
    if !missing.is_empty() {
        out.push_str(&format!(
            "\nwarnings ({}): references to assets the package does not hold; the import needs them in the target\n",
            missing.len()
        ));
        for m in missing {
            out.push_str(&format!("  [export.unresolved_ref] {m}\n"));
        }
    }
    out
}

/// Runs `hoist export`.
pub fn run(
    package: &Path,
    output: &Path,
    choice: &Choice,
    force: bool,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let shown = package.display().to_string();
    if !choice.all && choice.apps.is_empty() && choice.tasks.is_empty() {
        return Err(Error::Usage(
            "name what to export: --app NAME, --task NAME (each repeatable), or --all".into(),
        ));
    }
    crate::fsutil::keep_apart(
        &[crate::fsutil::Protected::new(package, "input")],
        &[output],
    )
    .map_err(Error::Usage)?;
    let opts = LoadOptions {
        layouts: crate::platform::LAYOUTS,
        limits: *limits,
        layout: None,
        hashing: crate::package::Hashing::Documents,
    };
    let kinds = match &choice.kinds_from {
        Some(spec) => crate::spec::Spec::load(spec)?.kinds,
        None => Kinds::builtin().clone(),
    };
    let pkg = Package::load(package, &opts)?;
    if pkg.layout != Layout::Hoist {
        return Err(Error::Usage(format!(
            "{shown} is a {} package; export takes an instance package (hoist layout)",
            pkg.layout
        )));
    }
    if !pkg.failures.is_empty() {
        note!(
            "error: refusing to export from {shown}: {} asset(s) failed to load",
            pkg.failures.len()
        );
        for f in &pkg.failures {
            note!("  {}  [{}] {}", f.asset, f.code, f.message);
        }
        return Ok(ExitCode::from(exit::FAILED));
    }
    let apps = chosen(&pkg.assets, "app", &choice.apps, choice.all, &shown)?;
    let tasks = chosen(&pkg.assets, "task", &choice.tasks, choice.all, &shown)?;
    let count = apps.len() + tasks.len();
    if count > MAX_PER_JOB {
        let how = if choice.all {
            "export it in parts, naming apps and tasks with --app and --task instead of --all"
        } else {
            "split it with --app and --task"
        };
        return Err(Error::Usage(format!(
            "this export takes {} apps and {} tasks ({count}); one export job takes at most {MAX_PER_JOB}: {how}",
            apps.len(),
            tasks.len()
        )));
    }
    if pkg.assets.is_empty() || (count == 0 && !choice.all) {
        return Err(Error::Usage(format!("{shown} holds no apps or tasks")));
    }
    let existing = std::fs::symlink_metadata(output).is_ok();
    if existing && !force {
        return Err(Error::Package(PackageError::Destination {
            path: output.into(),
            detail: "exists; pass --force to replace it".into(),
        }));
    }
    // One running export per output folder, and none while an apply writes there: the
    // platform runs one export job at a time (roma-export-assets-in-batches-api.txt).
    let folder = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Usage(format!("{} names no file", output.display())))?;
    let (_lock, _recovered) = crate::engine::outdir::OutDir::lock_for(
        folder,
        &BTreeSet::from([file_name]),
        "hoist export",
    )?;
    // Export All takes every asset of the instance: apps with their API groups, APIs and
    // all they own, tasks, and what none of them names (roma-importing-and-exporting-
    // assets.txt, "Exporting Assets": Export All).
    let picked: Vec<Asset> = if choice.all {
        pkg.assets.clone()
    } else {
        closure(&kinds, &pkg.assets, &apps, &tasks, choice.with_apis)
            .into_iter()
            .map(|i| pkg.assets[i].clone())
            .collect()
    };
    let missing = unresolved(&kinds, &picked);
    let entries = pkg.entries_for(&picked)?;
    let format = if output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        Format::Zip
    } else {
        Format::Dir
    };
    write_package(
        output,
        format,
        Layout::Hoist.name(),
        Some(ManifestMode::Embedded),
        entries,
        false,
    )?;
    let out = summary(
        &picked,
        (apps.len(), tasks.len()),
        choice,
        &shown,
        output,
        &missing,
    );
    super::print_out(&out)?;
    Ok(ExitCode::from(exit::OK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssetKey, Version};
    use serde_json::json;

    fn asset(kind: &str, name: &str, meta: serde_json::Value) -> Asset {
        Asset::new(AssetKey::new(kind, name, Version::None), meta, None)
    }

    fn instance() -> Vec<Asset> {
        vec![
            asset("api", "a1", json!({"group": "g1", "backend": "b1"})),
            asset("api", "a2", json!({"group": "g2"})),
            asset("api_group", "g1", json!({"app": "one"})),
            asset("api_group", "g2", json!({"app": "two"})),
            asset("app", "one", json!({})),
            asset("app", "two", json!({})),
            asset("backend", "b1", json!({})),
            asset("data_source", "d1", json!({})),
            asset("data_source", "d2", json!({})),
            asset("task", "t1", json!({"source": {"datasource": "d1"}})),
        ]
    }

    fn names(assets: &[Asset], idx: &[usize]) -> Vec<String> {
        idx.iter().map(|&i| assets[i].key.to_string()).collect()
    }

    #[test]
    fn apps_alone_or_with_their_apis() {
        let a = instance();
        let apps: BTreeSet<&str> = ["one"].into();
        assert_eq!(
            names(
                &a,
                &closure(Kinds::builtin(), &a, &apps, &BTreeSet::new(), false)
            ),
            ["app/one"]
        );
        assert_eq!(
            names(
                &a,
                &closure(Kinds::builtin(), &a, &apps, &BTreeSet::new(), true)
            ),
            ["api/a1", "api_group/g1", "app/one", "backend/b1"]
        );
    }

    #[test]
    fn tasks_bring_their_data_sources() {
        let a = instance();
        let tasks: BTreeSet<&str> = ["t1"].into();
        assert_eq!(
            names(
                &a,
                &closure(Kinds::builtin(), &a, &BTreeSet::new(), &tasks, false)
            ),
            ["data_source/d1", "task/t1"]
        );
    }
}
