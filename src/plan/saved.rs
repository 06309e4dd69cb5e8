//! Saved plans: reading one (`hoist plan -o`), and recomputing it before it is applied, which
//! refuses a plan whose spec, hook scripts, sources or target changed since, or that the
//! inputs no longer give.

use std::path::{Path, PathBuf};

use super::{
    EnvLookup, PLAN_FORMAT, Plan, PlanOptions, Planned, compute_loaded, input_digests, load_inputs,
};
use crate::error::Error;
use crate::spec::Spec;

/// A saved plan as applying it needs it: the spec and the inputs it was made from, and the
/// digest of what it says (its text without whitespace between tokens, which is the compact
/// serialisation of the plan hoist wrote). The rest of the file is checked, never built: a
/// large run's plan is a hundred megabytes of text, and several times that as values.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The spec it was made from.
    pub spec: super::SpecInfo,
    /// The digests of the inputs it was made from.
    pub inputs: super::InputDigests,
    said: crate::digest::Digest,
}

impl Saved {
    /// A plan held in memory, as it would read once saved.
    pub fn of(plan: &Plan) -> Saved {
        Saved {
            spec: plan.spec.clone(),
            inputs: plan.inputs.clone(),
            said: what_it_says(plan),
        }
    }
}

/// The parts of a plan file that are read.
#[derive(serde::Deserialize)]
struct Head {
    spec: super::SpecInfo,
    inputs: super::InputDigests,
}

/// A plan file, if `input` is one.
pub fn read_saved_plan(input: &Path) -> Result<Option<Saved>, Error> {
    if input.extension().and_then(|e| e.to_str()) != Some("json") {
        return Ok(None);
    }
    let bytes = std::fs::read(input).map_err(|e| Error::Io {
        path: input.into(),
        action: "cannot read the plan",
        source: e,
    })?;
    // Its format first, reading nothing else into memory: a large run's plan is a hundred
    // megabytes of text, which as a JSON tree would take several times that.
    let format: Option<u64> = match serde_json::from_slice::<FormatOnly>(&bytes) {
        Ok(f) => f.format,
        Err(e) if e.is_syntax() || e.is_eof() || e.is_io() => {
            return Err(Error::Usage(format!(
                "{}: not a plan file: {e}",
                input.display()
            )));
        }
        // JSON, but no object with one `format`.
        Err(_) => None,
    };
    if format != Some(u64::from(PLAN_FORMAT)) {
        return Err(Error::Usage(format!(
            "{}: not a plan of format {PLAN_FORMAT} (write one with hoist plan SPEC -o {})",
            input.display(),
            input.display()
        )));
    }
    let head: Head = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Usage(format!("{}: damaged plan file: {e}", input.display())))?;
    // The whole file parsed above: its text without whitespace is what it says.
    let said = crate::digest::Digest::of(&crate::model::json::without_whitespace(&bytes));
    Ok(Some(Saved {
        spec: head.spec,
        inputs: head.inputs,
        said,
    }))
}

/// A plan file's `format` (the last given, as a JSON tree keeps it), when the file is an
/// object and the format a number that fits; the rest is read past, not kept.
struct FormatOnly {
    format: Option<u64>,
}

impl<'de> serde::Deserialize<'de> for FormatOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = FormatOnly;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a plan object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FormatOnly, A::Error> {
                let mut format = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "format" {
                        format = map.next_value::<serde_json::Value>()?.as_u64();
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(FormatOnly { format })
            }
        }
        d.deserialize_map(Fields)
    }
}

/// Recomputes a saved plan and refuses if anything changed since: first the spec's bytes,
/// then every input's digests, and last the plan itself. `base` gives the platforms and
/// limits; `env` and `out_dir` are what the command line asked for (both must agree with the
/// plan); `env_lookup` reads the process environment.
pub fn replan(
    plan_path: &Path,
    saved: Saved,
    env: Option<String>,
    out_dir: Option<PathBuf>,
    base: &PlanOptions,
    env_lookup: &EnvLookup,
) -> Result<Planned, Error> {
    // The saved plan is compared whole once the run is planned again, by the digest of what it
    // says: the plan applies only if it says exactly what hoist would write now (whitespace
    // aside); a file edited by hand, or by another hoist, does not.
    let Saved {
        spec: saved_spec,
        inputs: saved_inputs,
        said,
    } = saved;
    if out_dir.is_some() {
        return Err(Error::Usage(
            "a saved plan names its outputs; apply it without --out, or plan again with another output.dir".into(),
        ));
    }
    if env.is_some() && env != saved_spec.env {
        return Err(Error::Usage(format!(
            "the plan was made for environment {}; --env {} does not match",
            saved_spec.env.as_deref().unwrap_or("(none)"),
            env.as_deref().unwrap_or("")
        )));
    }
    let unset: Vec<&String> = saved_spec
        .env_vars
        .iter()
        .filter(|name| env_lookup(name).is_none())
        .collect();
    if let Some(first) = unset.first() {
        let names: Vec<&str> = unset.iter().map(|n| n.as_str()).collect();
        return Err(Error::Usage(format!(
            "{}: the plan was made with the environment variable{} {} set, and {} unset now; set {} as when planning (the plan records names, never values)",
            plan_path.display(),
            if unset.len() == 1 { "" } else { "s" },
            names.join(", "),
            if unset.len() == 1 {
                "it is"
            } else {
                "they are"
            },
            if unset.len() == 1 {
                first.as_str()
            } else {
                "them"
            },
        )));
    }
    let spec_path =
        crate::fsutil::normalize(&crate::fsutil::parent_of(plan_path).join(&saved_spec.path));
    let stale = |changes: Vec<String>| stale_error(plan_path, &changes);
    let bytes = std::fs::read(&spec_path).map_err(|e| Error::Io {
        path: spec_path.clone(),
        action: "cannot read the plan's spec",
        source: e,
    })?;
    if crate::digest::Digest::of(&bytes) != saved_spec.sha256 {
        return Err(stale(vec![format!(
            "the spec {} changed",
            spec_path.display()
        )]));
    }
    let spec = Spec::load(&spec_path)?;
    let gone: Vec<String> = saved_inputs
        .sources
        .keys()
        .chain(saved_inputs.target.iter().map(|t| &t.path))
        .filter(|p| !spec.resolve(p).exists())
        .map(|p| format!("input {p} is gone"))
        .collect();
    if !gone.is_empty() {
        return Err(stale(gone));
    }
    let opts = PlanOptions {
        env: saved_spec.env.clone(),
        spec_display: Some(spec_path.display().to_string()),
        out_dir,
        ..base.clone()
    };
    let loaded = load_inputs(&spec, &opts)?;
    let scripts: Vec<String> = spec.scripts().into_iter().map(|(s, _)| s).collect();
    let hooks =
        crate::hooks::source_digests(&spec.dir, &scripts).map_err(|(script, message)| {
            Error::Spec(spec.error_at(None, "hook.script", format!("{script}: {message}")))
        })?;
    let fresh = input_digests(&loaded, hooks);
    let changes = changed_inputs(&saved_inputs, &fresh);
    if !changes.is_empty() {
        return Err(stale(changes));
    }
    let mut planned = compute_loaded(&spec, &opts, env_lookup, loaded)?;
    planned.plan.spec.path = saved_spec.path.clone();
    if what_it_says(&planned.plan) != said {
        return Err(stale(vec!["the inputs are unchanged but the plan differs (another hoist version, or edited by hand)".into()]));
    }
    Ok(planned)
}

/// The digest of `plan`'s compact serialisation: the text `hoist plan -o` writes, without
/// the whitespace between its tokens.
fn what_it_says(plan: &Plan) -> crate::digest::Digest {
    let mut sink = crate::digest::HashingWriter::new(std::io::sink());
    serde_json::to_writer(&mut sink, plan).expect("plans serialise");
    sink.finish().0
}

fn stale_error(plan_path: &Path, changes: &[String]) -> Error {
    let shown: Vec<String> = changes.iter().take(20).map(|c| format!("  {c}")).collect();
    let more = if changes.len() > 20 {
        format!("\n  … and {} more", changes.len() - 20)
    } else {
        String::new()
    };
    Error::StalePlan(format!(
        "{}: refusing a stale plan; since it was made:\n{}{more}\nrun hoist plan again and review it",
        plan_path.display(),
        shown.join("\n")
    ))
}

/// What changed between the digests a plan recorded and the inputs' digests now: every hook
/// script, source entry and target entry that is gone, modified or new.
fn changed_inputs(
    saved: &crate::plan::InputDigests,
    fresh: &crate::plan::InputDigests,
) -> Vec<String> {
    let mut changes = Vec::new();
    let hooks = |d: &crate::plan::InputDigests| -> DigestMap {
        d.hooks.iter().map(|(k, v)| (k.clone(), Some(*v))).collect()
    };
    diff_inputs("hook", &hooks(saved), &hooks(fresh), &mut changes);
    let sources = |d: &crate::plan::InputDigests| -> DigestMap {
        d.sources
            .iter()
            .flat_map(|(pkg, entries)| {
                entries
                    .iter()
                    .map(move |(e, x)| (format!("{pkg}: {e}"), Some(*x)))
            })
            .collect()
    };
    diff_inputs(
        "source entry",
        &sources(saved),
        &sources(fresh),
        &mut changes,
    );
    let target = |d: &crate::plan::InputDigests| -> DigestMap {
        d.target
            .iter()
            .flat_map(|t| {
                t.entries
                    .iter()
                    .map(move |(e, x)| (format!("{}: {e}", t.path), Some(*x)))
            })
            .collect()
    };
    diff_inputs("target entry", &target(saved), &target(fresh), &mut changes);
    changes
}

type DigestMap = std::collections::BTreeMap<String, Option<crate::digest::Digest>>;

fn diff_inputs(what: &str, saved: &DigestMap, fresh: &DigestMap, changes: &mut Vec<String>) {
    for (k, v) in saved {
        match fresh.get(k) {
            None => changes.push(format!("{what} {k} is gone")),
            Some(f) if f != v => changes.push(format!("{what} {k} was modified")),
            _ => {}
        }
    }
    for k in fresh.keys().filter(|k| !saved.contains_key(*k)) {
        changes.push(format!("{what} {k} is new"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with the orders example and a spec that reads one secret variable.
    fn workspace() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let copy = |from: &Path, to: &Path| {
            let mut stack = vec![from.to_path_buf()];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    let dest = to.join(p.strip_prefix(from).unwrap());
                    if p.is_dir() {
                        std::fs::create_dir_all(&dest).unwrap();
                        stack.push(p);
                    } else {
                        std::fs::copy(&p, &dest).unwrap();
                    }
                }
            }
        };
        std::fs::create_dir_all(t.path().join("in/orders")).unwrap();
        copy(
            &repo.join("examples/packages/orders-dev"),
            &t.path().join("in/orders"),
        );
        std::fs::write(
            t.path().join("spec.yaml"),
            "version: 1\nname: saved\nsources: [in/orders]\noutput: {dir: out}\nenv_vars: {secret: [PW]}\nenvironments:\n  prod:\n    overrides:\n      - {kind: data_source, names: [orders-dw], set: {/config/password: \"${env:PW}\"}}\n",
        )
        .unwrap();
        t
    }

    fn options() -> PlanOptions {
        PlanOptions {
            env: Some("prod".into()),
            ..crate::platform::plan_options()
        }
    }

    fn set(name: &str) -> Option<String> {
        (name == "PW").then(|| "s3cret-pass".to_string())
    }

    fn unset(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_saved_plan_is_recomputed_and_refused_when_an_input_or_a_variable_changed() {
        let t = workspace();
        let spec = Spec::load(&t.path().join("spec.yaml")).unwrap();
        let planned = super::super::compute(&spec, &options(), &set).unwrap();
        let mut saved = planned.plan.clone();
        saved.spec.path = "spec.yaml".into();
        let plan_path = t.path().join("plan.json");
        assert_eq!(saved.spec.env_vars, ["PW"]);
        // Unchanged: the same plan again.
        let again = replan(&plan_path, Saved::of(&saved), None, None, &options(), &set).unwrap();
        assert_eq!(again.plan.packages, saved.packages);
        // A variable the plan read is unset now.
        let e = replan(
            &plan_path,
            Saved::of(&saved),
            None,
            None,
            &options(),
            &unset,
        )
        .unwrap_err();
        assert!(e.to_string().contains("PW set, and it is unset now"), "{e}");
        // An entry of a source changed.
        let doc = t.path().join("in/orders/assets/app/orders/asset.json");
        let text = std::fs::read_to_string(&doc).unwrap();
        std::fs::write(&doc, text.replace("orders", "orders ")).unwrap();
        let e = replan(&plan_path, Saved::of(&saved), None, None, &options(), &set).unwrap_err();
        assert_eq!(e.code(), "plan.stale", "{e}");
        assert!(
            e.to_string()
                .contains("assets/app/orders/asset.json was modified"),
            "{e}"
        );
    }

    /// A file named .json that is no plan of this format is refused for what it is, and
    /// reading one never builds its whole tree.
    #[test]
    fn what_is_no_saved_plan_is_refused_for_what_it_is() {
        let t = tempfile::tempdir().unwrap();
        for (text, want) in [
            ("{\"format\": ", "not a plan file"),
            ("not json", "not a plan file"),
            ("{} {}", "not a plan file"),
            ("[2]", "not a plan of format"),
            ("{\"other\": 1}", "not a plan of format"),
            ("{\"format\": 999}", "not a plan of format"),
            ("{\"format\": \"2\"}", "not a plan of format"),
            ("{\"format\": {\"x\": 2}}", "not a plan of format"),
            ("{\"format\": 2}", "damaged plan file"),
            ("{\"format\": 2, \"packages\": 3}", "damaged plan file"),
        ] {
            let path = t.path().join("p.json");
            std::fs::write(&path, text).unwrap();
            let Err(Error::Usage(m)) = read_saved_plan(&path) else {
                panic!("{text} was read");
            };
            assert!(m.contains(want), "{text}: {m}");
        }
        // Another name is no saved plan: read as a spec.
        assert!(matches!(read_saved_plan(Path::new("spec.yaml")), Ok(None)));
    }
}
