"""What a Lua hook on every asset costs: the same spec over 100,000 assets without a hook,
with a trivial hook, and with a hook that edits each document, at --jobs 1 and --jobs 2.

    python3 benches/hooks.py [--packages 200] [--assets 500] [--runs 5]

Uses the corpus of benches/corpus.py many (made if missing). `plan` isolates the pipeline
(load, select, transform with the hook, resolve); `apply` adds writing.
"""

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from measure import hoist_binary, machine, many_corpus, measure  # noqa: E402


HOOKS = {
    "trivial": "return { transform = function(asset, ctx) return asset end }\n",
    "edit": "return { transform = function(asset, ctx)\n"
            "  asset.meta.remark = 'promoted: ' .. tostring(asset.meta.remark)\n"
            "  asset.labels.promoted = ctx.seed\n"
            "  return asset\nend }\n",
}

SPEC = """version: 1
name: bench-hooks
seed: bench
sources: ["packages/*.zip"]
output: {{dir: out-{variant}}}
{hooks}"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=200)
    ap.add_argument("--assets", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--hoist", default=None)
    a = ap.parse_args()
    a.hoist = hoist_binary(a.hoist)
    corpus = many_corpus(a.packages, a.assets)
    specs = {}
    for variant in ("none", "trivial", "edit"):
        hooks = ""
        if variant in HOOKS:
            with open(os.path.join(corpus, f"hook-{variant}.lua"), "w") as f:
                f.write(HOOKS[variant])
            hooks = f"hooks:\n  - {{script: hook-{variant}.lua}}\n"
        path = os.path.join(corpus, f"spec-hook-{variant}.yaml")
        with open(path, "w") as f:
            f.write(SPEC.format(variant=variant, hooks=hooks))
        specs[variant] = path
    n = a.packages * a.assets
    rows = []
    for command in ("plan", "apply"):
        for jobs in (1, 2):
            if command == "apply" and jobs == 1:
                continue
            base = None
            for variant in ("none", "trivial", "edit"):
                shutil.rmtree(os.path.join(corpus, f"out-{variant}"), ignore_errors=True)
                r = measure(f"{command} --jobs {jobs} hook={variant}",
                            [a.hoist, "--jobs", str(jobs), command, specs[variant]], a.runs)
                base = base or r
                rows.append((command, jobs, variant, r, r["median_s"] / base["median_s"],
                             (r["median_s"] - base["median_s"]) / n * 1e6 * jobs))
    print(f"Machine: {machine()}")
    print(f"Corpus: {a.packages} packages x {a.assets} assets = {n} assets; median of {a.runs} runs\n")
    print("| command | jobs | hook | median | assets/s | peak RSS | time / no hook | hook cost per asset (CPU) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for command, jobs, variant, r, ratio, cost in rows:
        cost_text = "—" if variant == "none" else f"{cost:.1f} µs"
        print(f"| `{command}` | {jobs} | {variant} | {r['median_s']:.2f} s | {n / r['median_s']:,.0f} | "
              f"{r['peak_rss'] / (1 << 20):.0f} MiB | {ratio:.2f}× | {cost_text} |")


if __name__ == "__main__":
    main()
