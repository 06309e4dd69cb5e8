"""Reading a large package: `hoist inspect` and `hoist verify` against `unzip -t` and
`sha256sum` of the same bytes, in one session.

    python3 benches/foundation.py [--size-mib 1024] [--runs 5] [--dir bench-corpus/foundation]

Builds (once, with a fixed seed) a hoist package of large binary payloads totalling the
given size, packs it, and prints a Markdown table of medians and peak memory.
"""

import argparse
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from measure import machine, measure, table  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(dir_, size_mib, hoist):
    pkg = os.path.join(dir_, f"large-{size_mib}.zip")
    if os.path.exists(pkg):
        return pkg
    tree = os.path.join(dir_, f"large-{size_mib}")
    rng = random.Random(20261122)
    per = 64  # MiB per payload
    for i in range(max(1, size_mib // per)):
        d = os.path.join(tree, "assets", "file", f"blob-{i:03}")
        os.makedirs(os.path.join(d, "files"), exist_ok=True)
        with open(os.path.join(d, "asset.json"), "w") as f:
            json.dump({"labels": {"bench": "large"}, "meta": {"title": f"blob-{i:03}"}}, f)
        with open(os.path.join(d, "files", "payload.bin"), "wb") as f:
            # Half random bytes, half repetitive text: a payload that compresses ~2:1.
            for _ in range(per):
                f.write(rng.randbytes(512 << 10))
                f.write((b"line %08d of a log that repeats itself\n" % rng.randrange(10**8)) * ((512 << 10) // 40))
                f.write(b"\n" * ((512 << 10) - ((512 << 10) // 40) * 40))
    subprocess.run([hoist, "pack", tree, "-o", pkg], check=True, stdout=subprocess.DEVNULL)
    return pkg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench-corpus", "foundation"))
    ap.add_argument("--hoist", default=os.path.join(ROOT, "target", "release", "hoist"))
    a = ap.parse_args()
    if not os.path.exists(a.hoist):
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    os.makedirs(a.dir, exist_ok=True)
    pkg = build(a.dir, a.size_mib, a.hoist)
    inflated = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(pkg[:-4]) for f in fs)
    tree = pkg[:-4]
    payloads = sorted(os.path.join(r, f) for r, _, fs in os.walk(tree) for f in fs)
    rows = [
        measure("sha256sum PKG (the archive)", ["sha256sum", pkg], a.runs),
        measure("sha256sum of the inflated files", ["sha256sum"] + payloads, a.runs),
        measure("unzip -tq PKG", ["unzip", "-tq", pkg], a.runs),
        measure("hoist inspect PKG", [a.hoist, "inspect", pkg], a.runs),
        measure("hoist verify PKG", [a.hoist, "verify", pkg], a.runs),
        measure("hoist --jobs 1 verify PKG", [a.hoist, "--jobs", "1", "verify", pkg], a.runs),
    ]
    print(f"Machine: {machine()}")
    print(f"Package: {os.path.getsize(pkg) / (1 << 20):.0f} MiB on disk, {inflated / (1 << 20):.0f} MiB inflated, "
          f"{a.size_mib // 64} payloads; median of {a.runs} runs, page cache warm.\n")
    print(table(rows, baseline_label="unzip -tq PKG"))
    print(f"\nThroughput of verify: {inflated / rows[4]['median_s'] / (1 << 20):.0f} MiB/s of inflated data "
          f"(--jobs 1: {inflated / rows[5]['median_s'] / (1 << 20):.0f} MiB/s); "
          f"unzip -t: {inflated / rows[2]['median_s'] / (1 << 20):.0f} MiB/s; "
          f"sha256sum of the same inflated bytes: {inflated / rows[1]['median_s'] / (1 << 20):.0f} MiB/s.")


if __name__ == "__main__":
    main()
