"""The alternative a platform engineer would write by hand: the job of the benchmark spec
(`benches/corpus.py many`'s spec.yaml, env prod) with zipfile + json + hashlib.

    python3 benches/alt_promote.py CORPUS_DIR OUT_DIR

For every package: read each asset.json, prefix tasks with "prod-", rename backends
p001-be-7 -> p001-backend-7, give authorizers that the target already has a suffix of six
characters derived from the seed, rewrite every reference to a renamed asset, strip
/throttling from APIs, set the backend address and the data source password, then write
the package (deflate, default level) with a hoist.json listing the sha256 of every entry,
and a report. It is written plainly, as such scripts are. JSON is read and written with
the standard library's `json` module (its C encoder and decoder).

    python3 benches/alt_promote.py CORPUS_DIR OUT_DIR --processes 2

does the same with a `multiprocessing` pool over the packages (each package in a worker
process, the report in package order): the parallel version a user would reach for next.
"""

import hashlib
import json
import os
import re
import sys
import zipfile

SEED = "bench"
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def read_target(path):
    taken = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) == 4 and parts[0] == "assets" and parts[3] == "asset.json":
                taken.setdefault(parts[1], set()).add(parts[2])
    return taken


def suffix(kind, name, taken):
    attempt = 0
    while True:
        d = hashlib.sha256(f"{SEED}\0{kind}\0{name}\0{attempt}".encode()).digest()
        cand = name + "-" + "".join(ALPHABET[d[i] % len(ALPHABET)] for i in range(6))
        if cand not in taken.get(kind, set()):
            return cand
        attempt += 1


def new_name(kind, name, taken):
    if kind == "task":
        name = "prod-" + name
    if kind == "backend":
        name = re.sub(r"^(p[0-9]+)-be-(.*)$", r"\1-backend-\2", name, count=1)
    if name in taken.get(kind, set()):
        if kind == "authorizer":
            name = suffix(kind, name, taken)
    return name


REFS = {
    "api": [("group", "api_group"), ("authorizer", "authorizer"), ("backend", "backend")],
    "api_group": [("app", "app")],
    "task": [("source.datasource", "data_source"), ("target.datasource", "data_source")],
}


def get_path(doc, dotted):
    for p in dotted.split(".")[:-1]:
        doc = doc.get(p)
        if not isinstance(doc, dict):
            return None, None
    return doc, dotted.split(".")[-1]


def promote(pkg, out_dir, taken, password):
    docs = {}
    with zipfile.ZipFile(pkg) as z:
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) == 4 and parts[0] == "assets" and parts[3] == "asset.json":
                docs[(parts[1], parts[2])] = json.loads(z.read(name))
    renamed = {}
    for kind, name in docs:
        new = new_name(kind, name, taken)
        if new != name:
            renamed[(kind, name)] = new
    entries = {}
    for (kind, name), doc in sorted(docs.items()):
        meta = doc["meta"]
        for field, target in REFS.get(kind, []):
            holder, key = get_path(meta, field)
            if holder is not None and (target, holder.get(key)) in renamed:
                holder[key] = renamed[(target, holder[key])]
        new = renamed.get((kind, name), name)
        if meta.get("name") == name:
            meta["name"] = new
        if kind == "api":
            meta.pop("throttling", None)
        if kind == "backend":
            meta["address"] = "svc.eu-1.prod.internal:443"
        if kind == "data_source":
            meta["config"]["password"] = password
        data = json.dumps(doc, indent=2, ensure_ascii=False).encode()
        entries[f"assets/{kind}/{new}/asset.json"] = data
    manifest = {"format": 1, "layout": "hoist",
                "entries": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(entries.items())}}
    out = os.path.join(out_dir, os.path.basename(pkg))
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("hoist.json", json.dumps(manifest, indent=2))
        for n, b in sorted(entries.items()):
            z.writestr(n, b)
    os.replace(tmp, out)
    return len(entries), len(renamed)


def main():
    corpus, out_dir = sys.argv[1], sys.argv[2]
    processes = 1
    if len(sys.argv) == 5 and sys.argv[3] == "--processes":
        processes = int(sys.argv[4])
    os.makedirs(out_dir, exist_ok=True)
    taken = read_target(os.path.join(corpus, "target.zip"))
    password = os.environ.get("BENCH_DB_PASSWORD", "unset")
    pkgs = sorted(os.path.join(corpus, "packages", f) for f in os.listdir(os.path.join(corpus, "packages")))
    jobs = [(pkg, out_dir, taken, password) for pkg in pkgs]
    if processes > 1:
        import multiprocessing
        with multiprocessing.Pool(processes) as pool:
            done = pool.starmap(promote, jobs)
    else:
        done = [promote(*job) for job in jobs]
    report = []
    for pkg, (n, r) in zip(pkgs, done):
        report.append({"package": os.path.basename(pkg), "assets": n, "renamed": r})
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
