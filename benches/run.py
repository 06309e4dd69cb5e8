"""The benchmark: hoist against the alternatives a user would pick and the machine's floors,
in one session, on the same files. Prints the Markdown tables of BENCHMARKS.md.

    python3 benches/run.py                     # everything, default sizes (about 40 minutes)
    python3 benches/run.py --only many,hooks   # some sections
    python3 benches/run.py --smoke             # tiny corpora, one run each (the test suite runs this)

Sections:
  many      (a) 200 packages x 500 small JSON assets: hoist apply at --jobs 1 and 2, the Python
            script a user would write (benches/alt_promote.py; serial and a pool of two
            processes) and the floor program (benches/floor.rs), warm; then hoist, the
            scripts and the floor cold (page cache emptied before each run; needs root,
            skipped otherwise, and under --smoke)
  hooks     the same corpus with no hook, a trivial hook and a hook editing every document
  large     (b) the copy-only job on a 400 MiB and a 4 GiB package: hoist apply against cp,
            sha256sum, inflate (unzip -p) and unzip + zip
  enebular  (c) 50 enebular project exports, flows with versions, renames on conflict
  kie       (d) one KIE file of 100,000 items against a target holding a fifth of them
  diffs     plan of the many corpus against the merged state of an earlier promotion (every
            asset compared, every backend overwritten with a field-level diff); with
            --baseline HOIST, the same plan by a hoist without diffs, and the ratio

Corpora are built once under bench-corpus/ from fixed seeds. Each command runs --runs times
(default 5; 3 for the slow alternatives); the tables give the median, the minimum and the
peak resident memory (GNU time when present).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from measure import ROOT, hoist_binary, machine, measure, mib  # noqa: E402

HOOKS = {
    "trivial": "return { transform = function(asset, ctx) return asset end }\n",
    "edit": "return { transform = function(asset, ctx)\n"
            "  asset.meta.remark = 'promoted: ' .. tostring(asset.meta.remark)\n"
            "  asset.labels.promoted = ctx.seed\n"
            "  return asset\nend }\n",
}

HOOK_SPEC = """version: 1
name: bench-hooks
seed: bench
sources: ["packages/*.zip"]
output: {{dir: out-{variant}}}
{hooks}"""


CORPUS_DIR = os.path.join(ROOT, "bench-corpus")


def corpus(kind, label, *args, hoist=None):
    """The folder of a corpus, built by corpus.py when missing."""
    folder = os.path.join(CORPUS_DIR, f"{kind}-{label}")
    if not os.path.exists(os.path.join(folder, "spec.yaml")):
        cmd = [sys.executable, os.path.join(ROOT, "benches", "corpus.py"), kind, *args, "--out", folder]
        if hoist:
            cmd += ["--hoist", hoist]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return folder


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)


def row(r, extra=""):
    return f"| `{r['label']}` | {r['median_s']:.3f} s | {r['min_s']:.3f} s | {mib(r['peak_rss'])} |{extra}"


def floor_binary():
    """The floor program (benches/floor.rs), built in release mode: its path."""
    built = subprocess.run(
        ["cargo", "bench", "--bench", "floor", "--locked", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for line in built.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "floor" \
                and msg.get("executable"):
            return msg["executable"]
    raise SystemExit("the floor program did not build")


def cold_section(a, out, c, assets, commands):
    """The same commands run cold: the page cache emptied before each run, so that the inputs
    come from disk, as on a CI runner's first run. Needs root; without it, says so."""
    if a.smoke:
        # The smoke run is part of the test suite: it does not empty the machine's page cache.
        out.append("Cold runs skipped under --smoke.\n")
        return
    rows = []
    for label, argv, runs in commands:
        r = measure(label, argv, runs, cold=True)
        if r is None:
            out.append("Cold runs skipped: emptying the page cache needs root "
                       "(/proc/sys/vm/drop_caches).\n")
            return
        rows.append(r)
    base = rows[0]
    out.append("Cold: the page cache emptied before each run (`sync; echo 3 > /proc/sys/vm/drop_caches`).\n")
    out.append("| command | median | min | CPU s | system s | peak RSS | assets/s | time / hoist --jobs 2 |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        out.append(f"| `{r['label']}` (cold) | {r['median_s']:.3f} s | {r['min_s']:.3f} s | {r['cpu_s']:.2f} |"
                   f" {r['sys_s']:.2f} | {mib(r['peak_rss'])} | {assets / r['median_s']:,.0f} |"
                   f" {r['median_s'] / base['median_s']:.2f}x |")
    out.append("")
    out.append(f"- cold, hoist --jobs 2 against the serial Python script: **{rows[1]['median_s'] / base['median_s']:.1f}x**, "
               f"against the two-process one **{rows[2]['median_s'] / base['median_s']:.1f}x**; "
               f"hoist's system time {base['sys_s']:.2f} s (aim: under 0.5 s).\n")


def section_many(a, out):
    p, n = (2, 20) if a.smoke else (200, 500)
    c = corpus("many", f"{p}x{n}", "--packages", str(p), "--assets", str(n))
    assets = p * n
    spec = os.path.join(c, "spec.yaml")
    rows = []
    for jobs in (1, 2):
        rows.append(measure(f"hoist --jobs {jobs} apply spec.yaml --env prod",
                            [a.hoist, "--jobs", str(jobs), "apply", spec, "--env", "prod"], a.runs))
    rows.append(measure("hoist --jobs 2 plan spec.yaml --env prod",
                        [a.hoist, "--jobs", "2", "plan", spec, "--env", "prod"], a.runs))
    alt = os.path.join(ROOT, "benches", "alt_promote.py")
    rows.append(measure("python3 benches/alt_promote.py",
                        [sys.executable, alt, c, os.path.join(c, "out-python")], a.slow_runs))
    rows.append(measure("python3 benches/alt_promote.py --processes 2",
                        [sys.executable, alt, c, os.path.join(c, "out-python-2"), "--processes", "2"], a.slow_runs))
    floor = floor_binary()
    rows.append(measure("floor: inflate all, deflate the documents (2 threads)", [floor, c], a.runs))
    rows.append(measure("floor --full: and CRC-32, SHA-256, write", [floor, c, "--full"], a.runs))
    j1, j2, _, py, py2, fl, fl_full = rows
    out.append(f"### (a) {p} packages x {n} small JSON assets = {assets:,} assets\n")
    out.append("Warm: the inputs are in the page cache (the runs before read them).\n")
    out.append("| command | median | min | CPU s | system s | peak RSS | assets/s | time / hoist --jobs 2 |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        out.append(f"| `{r['label']}` | {r['median_s']:.3f} s | {r['min_s']:.3f} s | {r['cpu_s']:.2f} | {r['sys_s']:.2f} |"
                   f" {mib(r['peak_rss'])} | {assets / r['median_s']:,.0f} | {r['median_s'] / j2['median_s']:.2f}x |")
    out.append("")
    out.append(f"- hoist --jobs 2 against the serial Python script: **{py['median_s'] / j2['median_s']:.1f}x** as fast "
               f"by wall clock, {py['cpu_s'] / max(j2['cpu_s'], 0.01):.1f}x by CPU; peak memory {mib(j2['peak_rss'])} "
               f"against {mib(py['peak_rss'])}.")
    out.append(f"- against the two-process script (a pool over packages): **{py2['median_s'] / j2['median_s']:.1f}x** "
               f"by wall clock. Both scripts use the standard library's `json` (C encoder).")
    out.append(f"- hoist --jobs 2 CPU against the floor's: **{j2['cpu_s'] / max(fl['cpu_s'], 0.01):.1f}x** "
               f"({j2['cpu_s'] / max(fl_full['cpu_s'], 0.01):.1f}x against the floor with CRC, SHA-256 and writing); "
               f"the floor is benches/floor.rs, one inflater and one deflater reused per thread.")
    out.append(f"- --jobs 2 against --jobs 1: **{j1['median_s'] / j2['median_s']:.2f}x**.")
    # What the wall-clock aims against the scripts leave beside the floor: the floor does
    # nothing but inflate, deflate, check, hash and write, so an aim at or below its own
    # ratio cannot be met by any program that also reads, plans and reports.
    out.append(f"- The floor itself against the scripts, by wall clock: **{py['median_s'] / fl['median_s']:.1f}x** "
               f"the serial one and **{py2['median_s'] / fl['median_s']:.1f}x** the two-process one "
               f"(floor --full: {py['median_s'] / fl_full['median_s']:.1f}x and {py2['median_s'] / fl_full['median_s']:.1f}x). "
               f"20x the serial script is {py['median_s'] / 20:.3f} s, {py['median_s'] / 20 / fl_full['median_s']:.2f}x "
               f"the floor --full's wall time; 8x the two-process one is {py2['median_s'] / 8:.3f} s, "
               f"{py2['median_s'] / 8 / fl_full['median_s']:.2f}x.\n")
    cold_section(a, out, c, assets, [
        ("hoist --jobs 2 apply spec.yaml --env prod",
         [a.hoist, "--jobs", "2", "apply", spec, "--env", "prod"], a.runs),
        ("python3 benches/alt_promote.py",
         [sys.executable, alt, c, os.path.join(c, "out-python")], a.slow_runs),
        ("python3 benches/alt_promote.py --processes 2",
         [sys.executable, alt, c, os.path.join(c, "out-python-2"), "--processes", "2"], a.slow_runs),
        ("floor: inflate all, deflate the documents (2 threads)", [floor, c], a.runs),
    ])
    return {"python_ratio": py["median_s"] / j2["median_s"], "scaling": j1["median_s"] / j2["median_s"]}


def section_hooks(a, out):
    p, n = (2, 20) if a.smoke else (200, 500)
    c = corpus("many", f"{p}x{n}", "--packages", str(p), "--assets", str(n))
    assets = p * n
    specs = {}
    for variant in ("none", "trivial", "edit"):
        hooks = ""
        if variant in HOOKS:
            # Scripts live in a folder of their own: outputs may not go where `require` reaches.
            os.makedirs(os.path.join(c, "scripts"), exist_ok=True)
            with open(os.path.join(c, "scripts", f"hook-{variant}.lua"), "w") as f:
                f.write(HOOKS[variant])
            hooks = f"hooks:\n  - {{script: scripts/hook-{variant}.lua}}\n"
        path = os.path.join(c, f"spec-hook-{variant}.yaml")
        with open(path, "w") as f:
            f.write(HOOK_SPEC.format(variant=variant, hooks=hooks))
        specs[variant] = path
    out.append(f"### Lua hooks on every one of {assets:,} assets\n")
    out.append("| command | median | min | peak RSS | time / no hook |")
    out.append("|---|---:|---:|---:|---:|")
    worst = 0.0
    for command, jobs in (("plan", 1), ("plan", 2), ("apply", 2)):
        base = None
        for variant in ("none", "trivial", "edit"):
            fresh(os.path.join(c, f"out-{variant}"))
            r = measure(f"hoist --jobs {jobs} {command} (hook: {variant})",
                        [a.hoist, "--jobs", str(jobs), command, specs[variant]], a.runs)
            base = base or r
            ratio = r["median_s"] / base["median_s"]
            worst = max(worst, ratio)
            out.append(row(r, f" {ratio:.2f}x |"))
    out.append("")
    out.append(f"- The costliest hook run takes **{worst:.2f}x** the time of the same run without a hook (aim: at most 2x).\n")
    return {"hook_worst": worst}


def section_large(a, out):
    sizes = (8, 32) if a.smoke else (400, 4096)
    out.append("### (b) The copy-only job on large payloads\n")
    out.append("| package | command | median | min | peak RSS | MiB/s of package |")
    out.append("|---|---|---:|---:|---:|---:|")
    result = {}
    for size in sizes:
        c = corpus("large", f"{size}", "--size-mib", str(size), hoist=a.hoist)
        pkg = os.path.join(c, "package.zip")
        bytes_ = os.path.getsize(pkg)
        scratch = tempfile.mkdtemp(dir=c)
        try:
            cmds = [
                ("cp PKG", ["cp", pkg, os.path.join(scratch, "copy.zip")], a.runs),
                ("cp PKG && sync COPY (a copy on disk, as hoist leaves it)",
                 f"cp '{pkg}' '{scratch}/copy.zip' && sync '{scratch}/copy.zip'", a.runs),
                ("sha256sum PKG", ["sha256sum", pkg], a.runs),
                ("unzip -p PKG > /dev/null (inflate)", f"unzip -p '{pkg}' > /dev/null", a.runs),
                ("unzip + zip -r (a hand-made copy)",
                 f"rm -rf '{scratch}/x' '{scratch}/x.zip' && unzip -q '{pkg}' -d '{scratch}/x' && "
                 f"cd '{scratch}/x' && zip -qr '{scratch}/x.zip' .", a.slow_runs),
                ("hoist --jobs 2 apply spec.yaml", [a.hoist, "--jobs", "2", "apply", os.path.join(c, "spec.yaml")], a.runs),
                ("hoist --jobs 2 verify PKG", [a.hoist, "--jobs", "2", "verify", pkg], a.runs),
            ]
            rows = {}
            for label, argv, runs in cmds:
                fresh(os.path.join(c, "out"))
                rows[label] = r = measure(label, argv, runs, shell=isinstance(argv, str))
                out.append(f"| {size} MiB | `{label}` | {r['median_s']:.3f} s | {r['min_s']:.3f} s | "
                           f"{mib(r['peak_rss'])} | {bytes_ / r['median_s'] / (1 << 20):,.0f} |")
            result[size] = rows
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    small, big = sizes
    cp = result[big]["cp PKG"]
    cp_sync = result[big]["cp PKG && sync COPY (a copy on disk, as hoist leaves it)"]
    ap = result[big]["hoist --jobs 2 apply spec.yaml"]
    out.append("")
    out.append(f"- hoist apply copies the {big} MiB package at **{cp['median_s'] / ap['median_s'] * 100:.0f}%** of the "
               f"throughput of cp by medians, {cp['min_s'] / ap['min_s'] * 100:.0f}% by minimums (aim: at least 50%); "
               f"against cp + sync, {cp_sync['median_s'] / ap['median_s'] * 100:.0f}% by medians, "
               f"{cp_sync['min_s'] / ap['min_s'] * 100:.0f}% by minimums.")
    m_small = result[small]["hoist --jobs 2 apply spec.yaml"]["peak_rss"]
    m_big = ap["peak_rss"]
    out.append(f"- Peak memory of hoist apply: {mib(m_small)} for {small} MiB, {mib(m_big)} for {big} MiB "
               f"(aim: no growth with package size).\n")
    return {"copy_vs_cp": cp["median_s"] / ap["median_s"], "mem_small": m_small, "mem_big": m_big}


def section_enebular(a, out):
    projects, flows = (2, 10) if a.smoke else (50, 100)
    c = corpus("enebular", f"{projects}x{flows}", "--projects", str(projects), "--flows", str(flows))
    spec = os.path.join(c, "spec.yaml")
    out.append(f"### (c) enebular: {projects} project exports of {flows} flows (3 versions each) and {flows // 10} files\n")
    out.append("| command | median | min | peak RSS |")
    out.append("|---|---:|---:|---:|")
    for jobs in (1, 2):
        fresh(os.path.join(c, "out"))
        out.append(row(measure(f"hoist --jobs {jobs} apply spec.yaml", [a.hoist, "--jobs", str(jobs), "apply", spec], a.runs)))
    out.append("")


def section_kie(a, out):
    items = 2000 if a.smoke else 100000
    c = corpus("kie", f"{items}", "--items", str(items))
    spec = os.path.join(c, "spec.yaml")
    out.append(f"### (d) KIE: one file of {items:,} items, a target holding a fifth of them\n")
    out.append("| command | median | min | peak RSS | items/s |")
    out.append("|---|---:|---:|---:|---:|")
    for command in ("plan", "apply"):
        fresh(os.path.join(c, "out"))
        r = measure(f"hoist {command} spec.yaml", [a.hoist, command, spec], a.runs)
        out.append(row(r, f" {items / r['median_s']:,.0f} |"))
    out.append("")


def section_diffs(a, out):
    p, n = (2, 20) if a.smoke else (200, 500)
    c = corpus("many", f"{p}x{n}", "--packages", str(p), "--assets", str(n))
    assets = p * n
    text = open(os.path.join(c, "spec.yaml")).read()
    first = text.replace("output: {dir: out}", "output: {dir: out-merged, merged: true}")
    with open(os.path.join(c, "spec-merged.yaml"), "w") as f:
        f.write(first)
    fresh(os.path.join(c, "out-merged"))
    # Written by the baseline when there is one, so that both read a manifest they know.
    subprocess.run([a.baseline or a.hoist, "apply", os.path.join(c, "spec-merged.yaml"), "--env", "prod"],
                   check=True, stdout=subprocess.DEVNULL)
    # The next promotion, against that merged state: another zone, so every backend changes.
    again = (text.replace("target: target.zip", "target: out-merged/merged.zip")
             .replace("output: {dir: out}", "output: {dir: out-again}")
             .replace("zone: eu-1", "zone: eu-2"))
    spec = os.path.join(c, "spec-again.yaml")
    with open(spec, "w") as f:
        f.write(again)
    plan = subprocess.run([a.hoist, "plan", spec, "--env", "prod", "--summary"], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    rows = [measure("hoist --jobs 2 plan (with diffs)",
                    [a.hoist, "--jobs", "2", "plan", spec, "--env", "prod"], a.runs)]
    if a.baseline:
        rows.append(measure("baseline --jobs 2 plan (no diffs)",
                            [a.baseline, "--jobs", "2", "plan", spec, "--env", "prod"], a.runs))
    out.append(f"### Plans with field-level diffs: {assets:,} assets against the merged state of an "
               "earlier promotion\n")
    out.append(f"Plan: `{plan}`\n")
    out.append("| command | median | min | peak RSS |")
    out.append("|---|---:|---:|---:|")
    for r in rows:
        out.append(row(r))
    out.append("")
    if a.baseline:
        ratio = rows[0]["median_s"] / rows[1]["median_s"]
        out.append(f"- with diffs against without: **{ratio:.2f}x** (aim: at most 1.3x).\n")


SECTIONS = {"many": section_many, "hooks": section_hooks, "large": section_large,
            "enebular": section_enebular, "kie": section_kie, "diffs": section_diffs}


def main():
    global CORPUS_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slow-runs", type=int, default=3, help="runs of the slow alternatives")
    ap.add_argument("--smoke", action="store_true", help="tiny corpora, one run each")
    ap.add_argument("--hoist", default=None)
    ap.add_argument("--baseline", default=None,
                    help="a hoist built without field-level diffs, for the diffs section")
    ap.add_argument("--corpus-dir", default=CORPUS_DIR, help="where corpora are built and kept")
    a = ap.parse_args()
    CORPUS_DIR = os.path.abspath(a.corpus_dir)
    if a.smoke:
        a.runs = a.slow_runs = 1
    a.hoist = os.path.abspath(hoist_binary(a.hoist))
    if a.baseline:
        a.baseline = os.path.abspath(a.baseline)
    for tool in ("unzip", "zip", "sha256sum"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install unzip zip coreutils)")
    out = [f"Machine: {machine()}. Medians of {a.runs} runs ({a.slow_runs} for the Python script and unzip + zip).\n"]
    for name in a.only.split(","):
        if name not in SECTIONS:
            sys.exit(f"unknown section {name!r}; sections: {', '.join(SECTIONS)}")
        SECTIONS[name](a, out)
        print("\n".join(out), flush=True)
        out = []


if __name__ == "__main__":
    main()
