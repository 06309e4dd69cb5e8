"""Synthetic corpora for the benchmarks, from a fixed seed: the same bytes on every machine.

    python3 benches/corpus.py many     [--packages 200] [--assets 500] --out DIR
    python3 benches/corpus.py large    [--size-mib 1024] --hoist BIN --out DIR
    python3 benches/corpus.py enebular [--projects 50] [--flows 100] --out DIR
    python3 benches/corpus.py kie      [--items 100000] --out DIR

`many` (a): hoist-layout ZIP packages of small JSON assets (apps, groups, APIs,
authorizers, backends, data sources, tasks; 0.5-4 KB each, referencing one another), a
target snapshot that clashes with some of them, and `spec.yaml` (renames, a random-suffix
conflict policy, a strip rule and environment overrides) to run over them.
`large` (b): one hoist package of 64 MiB payloads (half random bytes, half repetitive
text) and `spec.yaml`, which takes everything unchanged: the copy-only job.
`enebular` (c): enebular project exports (flows with versions, uploaded files), a target
with same-name flows, and `spec.yaml` (master and latest, `_1` renames on conflict).
`kie` (d): one KIE file of many items, a target holding a fifth of them, and `spec.yaml`
(force override).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
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
env_vars:
  secret: [BENCH_DB_PASSWORD]
environments:
  prod:
    vars: {zone: eu-1}
    overrides:
      - {kind: backend, set: {/address: "svc.${var:zone}.prod.internal:443"}}
      - {kind: data_source, set: {/config/password: "${env:BENCH_DB_PASSWORD:-unset}"}}
"""


LARGE_SPEC = """# Benchmark spec: the copy-only job, every asset taken unchanged.
version: 1
name: bench-large
sources: [package.zip]
output: {dir: out}
"""


def large(a):
    """A package of 64 MiB payloads totalling `size_mib`, packed by hoist."""
    tree = os.path.join(a.out, "tree")
    rng = random.Random(20261122)
    per = min(64, a.size_mib)
    chunk = 512 << 10
    for i in range(max(1, a.size_mib // per)):
        d = os.path.join(tree, "assets", "file", f"blob-{i:03}")
        os.makedirs(os.path.join(d, "files"), exist_ok=True)
        with open(os.path.join(d, "asset.json"), "w") as f:
            json.dump({"labels": {"bench": "large"}, "meta": {"title": f"blob-{i:03}"}}, f)
        with open(os.path.join(d, "files", "payload.bin"), "wb") as f:
            line = 40
            for _ in range(per):
                f.write(rng.randbytes(chunk))
                f.write((b"line %08d of a log that repeats itself\n" % rng.randrange(10**8)) * (chunk // line))
                f.write(b"\n" * (chunk - (chunk // line) * line))
    subprocess.run([a.hoist, "pack", tree, "-o", os.path.join(a.out, "package.zip")], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(tree)
    with open(os.path.join(a.out, "spec.yaml"), "w") as f:
        f.write(LARGE_SPEC)
    print(f"{a.size_mib} MiB of payloads in {a.out}/package.zip")


def crlf(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", "\r\n").encode()


def flow_json(rng, n):
    nodes = []
    for i in range(n):
        nodes.append({"id": f"{rng.getrandbits(32):08x}.{rng.getrandbits(20):05x}", "type": rng.choice(
            ["inject", "function", "change", "switch", "mqtt in", "http request", "debug"]),
            "name": text(rng, 1, 4), "x": rng.randrange(100, 900), "y": rng.randrange(40, 600),
            "wires": [[f"{rng.getrandbits(32):08x}.{rng.getrandbits(20):05x}"]],
            "func": text(rng, 5, 30) if rng.random() < 0.3 else None})
    return json.dumps(nodes).encode()


def enebular(a):
    """enebular project exports: flows with versions and uploaded files."""
    rng = random.Random(20261122)
    os.makedirs(os.path.join(a.out, "projects"), exist_ok=True)
    total = 0
    for p in range(a.projects):
        entries = {}
        project = f"Project{p:03}"
        for i in range(a.flows):
            name = f"flow-{i:03}"
            for v in ["master", "1", "2"]:
                base = f"{project}/flows/{name}/{v}"
                entries[f"{base}/settings.json"] = crlf({
                    "title": name if v == "master" else f"{name} v{v}", "description": text(rng, 3, 15),
                    "type": "flow", "sourceCode": "", "projectId": f"{p:08x}-0000-4000-8000-{i:012x}",
                    "tagTitles": [rng.choice(WORDS)], "defaultPrivilege": "read", "enebularVersion": "2.18.0",
                    "hash": f"{rng.getrandbits(64):016x}"})
                entries[f"{base}/flow.json"] = flow_json(rng, rng.randint(3, 25))
                total += 1
        for i in range(a.flows // 10):
            base = f"{project}/files/table-{i:03}/master"
            entries[f"{base}/settings.json"] = crlf({"title": f"table-{i:03}", "type": "file", "hash": f"{i:016x}"})
            entries[f"{base}/table-{i:03}.csv"] = "\r\n".join(
                ",".join(str(rng.randrange(1000)) for _ in range(8)) for _ in range(200)).encode()
            total += 1
        write_zip(os.path.join(a.out, "projects", f"{project}.zip"), entries)
    target = {}
    for i in range(0, a.flows, 4):
        base = f"Target/flows/flow-{i:03}/master"
        target[f"{base}/settings.json"] = crlf({"title": f"flow-{i:03}", "type": "flow", "hash": "0"})
        target[f"{base}/flow.json"] = b"[]"
    write_zip(os.path.join(a.out, "target.zip"), target)
    with open(os.path.join(a.out, "spec.yaml"), "w") as f:
        f.write(ENEBULAR_SPEC)
    print(f"{a.projects} projects, {total} asset versions in {a.out}")


ENEBULAR_SPEC = """# Benchmark spec: flows (master and latest) and files; same names get _1, _2, ...
version: 1
name: bench-enebular
sources: ["projects/*.zip"]
target: target.zip
output: {dir: out}
select:
  - {kind: flow, versions: [master, latest]}
  - {kind: file}
conflicts:
  default: rename
"""


def kie(a):
    """One KIE file of `items` items and a target holding every fifth of them."""
    rng = random.Random(20261122)
    items = []
    for i in range(a.items):
        svc = f"svc-{i % 97:02}"
        items.append({"key": f"{svc}.{rng.choice(WORDS)}.{i:06}", "value": text(rng, 1, 12),
                      "value_type": rng.choice(["text", "text", "json", "yaml", "properties"]),
                      "status": "enabled", "labels": {"app": svc, "environment": "prod"}})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"metadata": {"version": "1.0", "annotations": {}}, "data": items}, f, indent=2)
    target = [dict(x, value="old " + x["value"]) for x in items[::5]]
    with open(os.path.join(a.out, "target.json"), "w") as f:
        json.dump({"metadata": {"version": "1.0", "annotations": {}}, "data": target}, f, indent=2)
    with open(os.path.join(a.out, "spec.yaml"), "w") as f:
        f.write(KIE_SPEC)
    print(f"{a.items} KIE items in {a.out}")


KIE_SPEC = """# Benchmark spec: a KIE upload with force, against a target holding a fifth of the items.
version: 1
name: bench-kie
sources: [config.json]
target: target.json
output: {dir: out, merged: true}
kie: {override: force}
"""


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="corpus", required=True)
    m = sub.add_parser("many")
    m.add_argument("--packages", type=int, default=200)
    m.add_argument("--assets", type=int, default=500)
    g = sub.add_parser("large")
    g.add_argument("--size-mib", type=int, default=1024)
    g.add_argument("--hoist", required=True)
    e = sub.add_parser("enebular")
    e.add_argument("--projects", type=int, default=50)
    e.add_argument("--flows", type=int, default=100)
    k = sub.add_parser("kie")
    k.add_argument("--items", type=int, default=100000)
    for p in (m, g, e, k):
        p.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    {"many": many, "large": large, "enebular": enebular, "kie": kie}[a.corpus](a)


if __name__ == "__main__":
    main()
