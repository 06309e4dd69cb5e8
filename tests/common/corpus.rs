//! A corpus of many small hoist-layout packages for the tests that need volume (crash
//! safety): apps, groups, APIs, authorizers, backends, data sources and tasks referencing one
//! another, a target that clashes with some authorizers, and a spec with renames, a random
//! conflict suffix, a strip rule and overrides. Built here, from a fixed seed, so the tests
//! need nothing but the binary; the benchmark has its own, larger generator.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde_json::json;

/// A small deterministic generator (a linear congruential one): the same bytes everywhere.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "order", "payment", "invoice", "customer", "stock", "shipment", "refund", "ledger", "account",
    "profile", "catalog", "price", "cart", "review", "coupon",
];

/// The spec the corpus comes with; `seed: bench` and `zone: eu-1` are there to be replaced,
/// which changes every output.
pub const SPEC: &str = r#"version: 1
name: corpus
seed: bench
sources: ["packages/*.zip"]
target: target.zip
output: {dir: out}
rename:
  - {kind: task, prefix: "prod-"}
  - {kind: backend, match: '^(p[0-9]+)-be-(.*)$', to: '$1-backend-$2'}
conflicts:
  default: overwrite
  authorizer: {rename: random, length: 6}
strip:
  api: [/throttling]
environments:
  prod:
    vars: {zone: eu-1}
    overrides:
      - {kind: backend, set: {/address: "svc.${var:zone}.prod.internal:443"}}
"#;

fn write_zip(path: &Path, entries: &[(String, String)]) {
    let mut w = zip::ZipWriter::new(File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort();
    for (name, text) in sorted {
        w.start_file(name.as_str(), options).unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap();
}

/// Writes `packages` packages of about `assets` assets each into `dir/packages/`, the target
/// `dir/target.zip` and `dir/spec.yaml`.
pub fn many(dir: &Path, packages: usize, assets: usize) {
    std::fs::create_dir_all(dir.join("packages")).unwrap();
    let mut rng = Rng(20261122);
    let (groups, auths) = (5, 5);
    let backends = (assets / 12).max(1);
    let sources = (assets / 25).max(1);
    let tasks = (assets / 16).max(1);
    let apis = assets
        .saturating_sub(1 + groups + auths + backends + sources + tasks)
        .max(1);
    for p in 0..packages {
        let mut entries = Vec::new();
        let mut add = |kind: &str, name: String, meta: serde_json::Value| {
            let doc = json!({"labels": {"team": format!("team-{p}")}, "meta": meta});
            entries.push((
                format!("assets/{kind}/{name}/asset.json"),
                serde_json::to_string_pretty(&doc).unwrap(),
            ));
        };
        let app = format!("p{p:03}-app");
        add("app", app.clone(), json!({"name": app, "app_type": "apic"}));
        for i in 0..groups {
            let name = format!("p{p:03}-grp-{i:02}");
            add("api_group", name.clone(), json!({"name": name, "app": app}));
        }
        for i in 0..auths {
            let name = format!("p{p:03}-auth-{i:02}");
            add("authorizer", name.clone(), json!({"name": name, "ttl": 60}));
        }
        for i in 0..backends {
            let name = format!("p{p:03}-be-{i:03}");
            let timeout = [3000, 5000, 10000][rng.below(3) as usize];
            add(
                "backend",
                name.clone(),
                json!({"name": name, "address": format!("{name}.dev.internal:443"), "timeout": timeout}),
            );
        }
        for i in 0..sources {
            let name = format!("p{p:03}-ds-{i:03}");
            add(
                "data_source",
                name.clone(),
                json!({"name": name, "type": "MYSQL", "config": {"host": "db.dev", "password": "dev"}}),
            );
        }
        for i in 0..tasks {
            let name = format!("p{p:03}-task-{i:03}");
            let (a, b) = (rng.below(sources as u64), rng.below(sources as u64));
            add(
                "task",
                name.clone(),
                json!({"name": name,
                       "source": {"datasource": format!("p{p:03}-ds-{a:03}"), "table": rng.pick(WORDS)},
                       "target": {"datasource": format!("p{p:03}-ds-{b:03}"), "table": rng.pick(WORDS)}}),
            );
        }
        for i in 0..apis {
            let name = format!("p{p:03}-api-{i:03}");
            let (g, a, b) = (
                rng.below(groups as u64),
                rng.below(auths as u64),
                rng.below(backends as u64),
            );
            let word = rng.pick(WORDS);
            let remark: Vec<&str> = (0..rng.below(200) + 50).map(|_| rng.pick(WORDS)).collect();
            add(
                "api",
                name.clone(),
                json!({"name": name, "group": format!("p{p:03}-grp-{g:02}"),
                       "authorizer": format!("p{p:03}-auth-{a:02}"),
                       "backend": format!("p{p:03}-be-{b:03}"),
                       "req_method": "GET", "req_uri": format!("/v1/{word}/{name}"),
                       "throttling": {"name": "default"}, "remark": remark.join(" ")}),
            );
        }
        write_zip(&dir.join(format!("packages/p{p:03}.zip")), &entries);
    }
    let target: Vec<(String, String)> = (0..packages)
        .step_by(10)
        .map(|p| {
            let name = format!("p{p:03}-auth-00");
            (
                format!("assets/authorizer/{name}/asset.json"),
                json!({"meta": {"name": name, "ttl": 1}}).to_string(),
            )
        })
        .collect();
    write_zip(&dir.join("target.zip"), &target);
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
}
