//! `hoist hook test` and `hoist hook types`: writing hook scripts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::error::{Error, exit};
use crate::hooks::{ConflictChoice, Context, HookHost};
use crate::model::{Asset, Version};
use crate::package::{Limits, LoadOptions, Package};
use crate::spec::LuaBudget;

/// The LuaLS annotations `hoist hook types` writes.
pub const TYPES: &str = include_str!("../hooks/hoist.d.lua");

/// Options of `hoist hook test`.
pub struct TestArgs<'a> {
    pub script: &'a Path,
    pub package: &'a Path,
    pub asset: &'a str,
    pub target: Option<&'a Path>,
    pub env: Option<String>,
    pub vars: Vec<(String, String)>,
    pub seed: String,
}

fn find<'a>(pkg: &'a Package, wanted: &str) -> Result<&'a Asset, Error> {
    let (kind, rest) = wanted
        .split_once('/')
        .ok_or_else(|| Error::Usage(format!("--asset {wanted}: expected KIND/NAME[@VERSION]")))?;
    let (name, version) = match rest.rsplit_once('@') {
        Some((n, v)) => (
            n,
            Some(
                Version::parse_folder(v)
                    .ok_or_else(|| Error::Usage(format!("--asset {wanted}: bad version {v:?}")))?,
            ),
        ),
        None => (rest, None),
    };
    let mut found = pkg
        .assets
        .iter()
        .filter(|a| a.key.kind == kind && a.key.name == name);
    let asset = match version {
        Some(v) => found.find(|a| a.key.version == v),
        None => found.find(|a| matches!(a.key.version, Version::None | Version::Master)),
    };
    asset.ok_or_else(|| {
        Error::Usage(format!(
            "{}: no asset {wanted}",
            pkg.source.path().display()
        ))
    })
}

/// The asset as `hook test` prints it. `original` is the asset before the hook: a masked
/// sourceCode the hook changed reads `*** (changed)`.
fn shown(asset: &Asset, original: &Asset) -> String {
    let files: Vec<&String> = asset.files.keys().collect();
    let mut meta = asset.meta().into_owned();
    // enebular sourceCode may hold credentials: shown masked, before and after alike.
    let field = crate::platform::enebular::layout::SOURCE_CODE;
    if !crate::platform::enebular::layout::credentials(&meta).is_empty()
        || !crate::platform::enebular::layout::credentials(&original.meta()).is_empty()
    {
        let same = meta.get(field) == original.meta().get(field);
        meta[field] = json!(if same { "***" } else { "*** (changed)" });
    }
    let v = json!({"kind": asset.key.kind, "name": asset.key.name, "version": asset.key.version, "labels": asset.labels, "meta": meta, "files": files});
    let mut text = serde_json::to_string_pretty(&v).expect("serialisable");
    text.push('\n');
    text
}

/// What `ctx` holds for a test run: the given environment, vars and seed, what the target
/// holds, and the values never to show that the package's platform finds in the asset.
fn context(
    env: Option<String>,
    vars: Vec<(String, String)>,
    seed: String,
    pkg: &Package,
    asset: &Asset,
    target: Option<&Package>,
) -> Result<Context, Error> {
    let mut names: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for a in target.iter().flat_map(|t| &t.assets) {
        names
            .entry(a.key.kind.clone())
            .or_default()
            .insert(a.key.name.clone());
    }
    let platform = crate::plan::platform::platform_of(crate::platform::ALL, pkg.layout)?;
    let mut secrets = crate::secrets::Secrets::new();
    if let Some(find) = platform.secrets_finder() {
        find(&asset.meta()).into_iter().for_each(|c| secrets.add(c));
    }
    Ok(Context {
        env,
        vars: vars.into_iter().collect(),
        seed,
        target: names,
        secrets,
    })
}

/// `hoist hook test`.
pub fn test(args: TestArgs<'_>, limits: &Limits) -> Result<ExitCode, Error> {
    let opts = LoadOptions {
        layouts: crate::platform::LAYOUTS,
        limits: *limits,
        layout: None,
        hashing: crate::package::Hashing::Documents,
    };
    let pkg = Package::load(args.package, &opts)?;
    let asset = find(&pkg, args.asset)?.clone();
    let target = args.target.map(|t| Package::load(t, &opts)).transpose()?;
    let ctx = context(
        args.env,
        args.vars,
        args.seed,
        &pkg,
        &asset,
        target.as_ref(),
    )?;
    crate::secrets::remember(&ctx.secrets);
    // The script keeps the path it was given, so errors read `scripts/x.lua:7: …`.
    let file = args.script.to_string_lossy().into_owned();
    let host = HookHost::new(
        Path::new(""),
        std::slice::from_ref(&file),
        LuaBudget::default(),
        ctx,
    )
    .map_err(|(s, m)| Error::Usage(format!("{s}: {m}")))?;
    let mut failed = false;
    let mut out = format!(
        "{} on {} from {}\n",
        args.script.display(),
        asset.key,
        args.package.display()
    );
    match host.rename(&file, &asset) {
        Ok(o) => {
            for l in o.logs {
                out.push_str(&format!("log: {l}\n"));
            }
            match o.value {
                Some(n) => out.push_str(&format!("rename: {} → {n}\n", asset.key.name)),
                None => out.push_str("rename: (name kept)\n"),
            }
        }
        Err(e) => {
            failed = true;
            out.push_str(&format!("rename failed [{}]: {}\n", e.code(), e.message));
        }
    }
    let before = shown(&asset, &asset);
    let original = asset.clone();
    let mut after_meta = None;
    match host.transform_beside(&file, asset.clone(), pkg.io.reserved_payload_name()) {
        Ok(o) => {
            for l in o.logs {
                out.push_str(&format!("log: {l}\n"));
            }
            match o.value {
                None => out.push_str("transform: the asset is dropped\n"),
                Some(after) => {
                    after_meta = Some(after.meta().into_owned());
                    // Payload files (a flow.json) with their changed lines, masked below
                    // like every other line.
                    let files = crate::plan::changes::files(
                        &original,
                        &after,
                        crate::plan::changes::Lines::Shown,
                    );
                    let after = shown(&after, &original);
                    if after == before && files.is_empty() {
                        out.push_str("transform: no change\n");
                    } else {
                        out.push_str("transform:\n");
                        if after != before {
                            out.push_str(&crate::diff::lines(&before, &after, 2));
                        }
                        super::render::file_changes(&mut out, files.iter(), "  ");
                    }
                }
            }
        }
        Err(e) => {
            failed = true;
            out.push_str(&format!("transform failed [{}]: {}\n", e.code(), e.message));
        }
    }
    let existing = target.as_ref().and_then(|t| {
        t.assets
            .iter()
            .find(|a| a.key.kind == asset.key.kind && a.key.name == asset.key.name)
    });
    match host.on_conflict(&file, &asset, existing) {
        Ok(o) => {
            for l in o.logs {
                out.push_str(&format!("log: {l}\n"));
            }
            let word = match o.value {
                ConflictChoice::Skip => "skip".into(),
                ConflictChoice::Overwrite => "overwrite".into(),
                ConflictChoice::Fail => "fail".into(),
                ConflictChoice::Abort => "abort".into(),
                ConflictChoice::Rename(s) => crate::spec::Policy::Rename(s).word().to_string(),
                ConflictChoice::Name(n) => format!("rename to {n}"),
            };
            let against = if existing.is_some() {
                "the target's asset"
            } else {
                "no asset (none in the target)"
            };
            out.push_str(&format!("on_conflict against {against}: {word}\n"));
        }
        Err(e) if e.kind == crate::hooks::HookFailure::Missing => {}
        Err(e) => {
            failed = true;
            out.push_str(&format!(
                "on_conflict failed [{}]: {}\n",
                e.code(),
                e.message
            ));
        }
    }
    // Credentials of the asset, as it was, as the hook left it and as the target holds it,
    // are masked wherever they show (diff lines, logs, errors): a changed one still shows as
    // a changed line.
    let mut found = Vec::new();
    for doc in [
        Some(original.meta()),
        after_meta.as_ref().map(std::borrow::Cow::Borrowed),
        existing.map(Asset::meta),
    ]
    .into_iter()
    .flatten()
    {
        crate::secrets::credentials::collect(&doc, &mut found);
    }
    let found = crate::secrets::Secrets::of_found(found);
    let mut masked = String::with_capacity(out.len());
    for line in out.lines() {
        let mut line = crate::secrets::credentials::mask_text(line).unwrap_or_else(|| line.into());
        found.mask_in(&mut line);
        masked.push_str(&line);
        masked.push('\n');
    }
    super::print_out(&masked)?;
    Ok(ExitCode::from(if failed { exit::FAILED } else { exit::OK }))
}

/// `hoist hook types`.
pub fn types(dir: &Path) -> Result<ExitCode, Error> {
    let path = dir.join("hoist.d.lua");
    crate::fsutil::write_atomic(&path, TYPES.as_bytes()).map_err(|e| Error::Io {
        path: path.clone(),
        action: "cannot write",
        source: e,
    })?;
    println!(
        "wrote {}: LuaLS annotations for hook scripts (annotate a script's table with ---@type HoistHooks)",
        path.display()
    );
    Ok(ExitCode::from(exit::OK))
}
