"""The planning engine at scale: `hoist apply` of a spec with renames and overrides over
many packages of small assets, at --jobs 1 and --jobs 2.

    python3 benches/engine.py [--packages 200] [--assets 500] [--runs 5]

Generates the corpus once (benches/corpus.py many), then prints medians, assets per
second and peak memory.
"""

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from measure import hoist_binary, machine, many_corpus, measure  # noqa: E402



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=200)
    ap.add_argument("--assets", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--hoist", default=None)
    a = ap.parse_args()
    a.hoist = hoist_binary(a.hoist)
    corpus = many_corpus(a.packages, a.assets)
    spec = os.path.join(corpus, "spec.yaml")
    assets = a.packages * a.assets
    rows = []
    for jobs in (1, 2):
        shutil.rmtree(os.path.join(corpus, "out"), ignore_errors=True)
        r = measure(f"hoist --jobs {jobs} apply spec.yaml --env prod",
                    [a.hoist, "--jobs", str(jobs), "apply", spec, "--env", "prod"], a.runs)
        rows.append(r)
    plan = measure("hoist --jobs 2 plan spec.yaml --env prod", [a.hoist, "--jobs", "2", "plan", spec, "--env", "prod"], a.runs)
    rows.append(plan)
    print(f"Machine: {machine()}")
    print(f"Corpus: {a.packages} packages x {a.assets} assets = {assets} assets; median of {a.runs} runs\n")
    print("| command | median | min | assets/s | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| `{r['label']}` | {r['median_s']:.2f} s | {r['min_s']:.2f} s | {assets / r['median_s']:,.0f} | {r['peak_rss'] / (1 << 20):.0f} MiB |")
    print(f"\nspeed-up --jobs 2 over --jobs 1: {rows[0]['median_s'] / rows[1]['median_s']:.2f}x")


if __name__ == "__main__":
    main()
