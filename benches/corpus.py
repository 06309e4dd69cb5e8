"""Synthetic corpora for the benchmarks, from a fixed seed: the same bytes on every machine.

    python3 benches/corpus.py many [--packages 200] [--assets 500] [--out bench-corpus/many]

`many`: many hoist-layout ZIP packages of small JSON assets (apps, groups, APIs,
authorizers, backends, data sources, tasks; 0.5-4 KB each, referencing one another), a
target snapshot that clashes with some of them, and `spec.yaml` (renames, a random-suffix
conflict policy, a strip rule and environment overrides) to run over them.
"""

import argparse
import json
import os
import random
import zipfile

WORDS = ("order payment invoice customer stock shipment refund ledger account profile "
         "catalog price cart review coupon loyalty report audit session token").split()


def text(rng, lo, hi):
    n = rng.randint(lo, hi)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def doc(kind, name, rng, p, counts):
    base = {"name": name, "remark": text(rng, 5, 40)}
    if kind == "app":
        base.update(app_type="apic", owners=[f"team-{p}"])
    elif kind == "api_group":
        base.update(app=f"p{p:03}-app", sl_domain=f"{name}.dev.apic.example")
    elif kind == "authorizer":
        base.update(authorizer_type="FUNC", authorizer_uri=f"urn:fss:r1:proj:function:default:{name}",
                    ttl=rng.choice([30, 60, 300]), identities=[{"name": "Authorization", "location": "HEADER"}])
    elif kind == "backend":
        base.update(backend_type="HTTP", req_protocol="HTTPS", address=f"{name}.dev.internal:443",
                    timeout=rng.choice([3000, 5000, 10000]))
    elif kind == "data_source":
        base.update(type=rng.choice(["MYSQL", "DWS", "KAFKA"]),
                    config={"host": f"{name}.dev.internal", "port": 3306, "user": "app", "password": "dev"})
    elif kind == "task":
        base.update(task_type="TIMING", schedule="0 */15 * * * ?",
                    source={"datasource": f"p{p:03}-ds-{rng.randrange(counts['data_source']):03}", "table": rng.choice(WORDS)},
                    target={"datasource": f"p{p:03}-ds-{rng.randrange(counts['data_source']):03}", "table": rng.choice(WORDS)},
                    mapping=[{"from": rng.choice(WORDS), "to": rng.choice(WORDS)} for _ in range(rng.randint(2, 30))])
    elif kind == "api":
        base.update(group=f"p{p:03}-grp-{rng.randrange(counts['api_group']):02}", type=1, req_protocol="HTTPS",
                    req_method=rng.choice(["GET", "POST", "PUT", "DELETE"]), req_uri=f"/v1/{rng.choice(WORDS)}/{name}",
                    auth_type="AUTHORIZER", authorizer=f"p{p:03}-auth-{rng.randrange(counts['authorizer']):02}",
                    backend=f"p{p:03}-be-{rng.randrange(counts['backend']):03}", match_mode="NORMAL",
                    throttling={"name": "default", "api_call_limits": rng.randrange(10, 10000)},
                    parameters=[{"name": rng.choice(WORDS), "location": rng.choice(["QUERY", "HEADER", "PATH"]),
                                 "required": rng.random() < 0.5, "remark": text(rng, 2, 12)} for _ in range(rng.randint(1, 12))])
    return {"labels": {"team": f"team-{p}"}, "meta": base}


def counts_for(assets):
    c = {"app": 1, "api_group": 5, "authorizer": 5, "backend": max(1, assets // 12),
         "data_source": max(1, assets // 25), "task": max(1, assets // 16)}
    c["api"] = max(1, assets - sum(c.values()))
    return c


def names(kind, p, i):
    short = {"app": "app", "api_group": "grp", "authorizer": "auth", "backend": "be", "data_source": "ds", "task": "task", "api": "api"}[kind]
    return f"p{p:03}-app" if kind == "app" else f"p{p:03}-{short}-{i:0{2 if kind in ('api_group', 'authorizer') else 3}}"


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(entries.items()):
            z.writestr(name, data)


def many(a):
    os.makedirs(os.path.join(a.out, "packages"), exist_ok=True)
    rng = random.Random(20261122)
    counts = counts_for(a.assets)
    total = 0
    for p in range(a.packages):
        entries = {}
        for kind, n in counts.items():
            for i in range(n):
                name = names(kind, p, i)
                entries[f"assets/{kind}/{name}/asset.json"] = json.dumps(doc(kind, name, rng, p, counts), indent=2)
                total += 1
        write_zip(os.path.join(a.out, "packages", f"p{p:03}.zip"), entries)
    target = {}
    for p in range(0, a.packages, 10):
        name = names("authorizer", p, 0)
        target[f"assets/authorizer/{name}/asset.json"] = json.dumps({"meta": {"name": name, "ttl": 1}})
    write_zip(os.path.join(a.out, "target.zip"), target)
    with open(os.path.join(a.out, "spec.yaml"), "w") as f:
        f.write(SPEC)
    print(f"{a.packages} packages, {total} assets in {a.out}")


SPEC = """# Benchmark spec: renames, a random-suffix conflict policy, a strip rule, overrides.
version: 1
name: bench-many
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
      - {kind: data_source, set: {/config/password: "${env:BENCH_DB_PASSWORD:-unset}"}}
"""


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="corpus", required=True)
    m = sub.add_parser("many")
    m.add_argument("--packages", type=int, default=200)
    m.add_argument("--assets", type=int, default=500)
    m.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench-corpus", "many"))
    a = ap.parse_args()
    many(a)


if __name__ == "__main__":
    main()
