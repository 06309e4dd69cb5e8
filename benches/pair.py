"""Runs two commands in turn (A B A B ...) and reports the ratio A/B pair by pair.

    python3 benches/pair.py -n 7 --cwd DIR --a 'hoist --jobs 2 plan s.yaml' --b 'OLD plan s.yaml'

Each run's wall time is measured around the child; its CPU time (user + system) and peak
memory are the kernel's accounting of the finished child (wait4), so a busy machine that
slows both commands alike leaves the ratio of a pair unchanged. Prints min, median and max of
each figure and of the ratios; quote the medians, and read the spread as the machine's noise.
Peak memory includes the forking Python's own, about 15 MiB.
"""

import argparse
import os
import shlex
import statistics
import subprocess
import time


def run(argv, cwd):
    """One run: (wall s, cpu s, peak MiB). Fails loudly if the command fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {shlex.join(argv)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def spread(values):
    return f"{min(values):10.3f} {statistics.median(values):10.3f} {max(values):10.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=7, help="pairs counted")
    ap.add_argument("--warmup", type=int, default=1, help="pairs run first, not counted")
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--a", required=True, help="command A, split as a shell splits words")
    ap.add_argument("--b", required=True, help="command B (the baseline)")
    args = ap.parse_args()
    a, b = shlex.split(args.a), shlex.split(args.b)
    for _ in range(args.warmup):
        run(a, args.cwd)
        run(b, args.cwd)
    runs = [(run(a, args.cwd), run(b, args.cwd)) for _ in range(args.n)]
    print(f"A = {args.a}\nB = {args.b}\n{args.n} pairs, A then B\n")
    print(f"{'':14}{'min':>10} {'median':>10} {'max':>10}")
    for i, name in enumerate(["wall s", "cpu s", "peak MiB"]):
        print(f"{'A ' + name:14}{spread([ra[i] for ra, _ in runs])}")
        print(f"{'B ' + name:14}{spread([rb[i] for _, rb in runs])}")
    for i, name in enumerate(["wall", "cpu"]):
        print(f"{'A/B ' + name:14}{spread([ra[i] / rb[i] for ra, rb in runs])}")


if __name__ == "__main__":
    main()
