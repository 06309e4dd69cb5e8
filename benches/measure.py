"""Runs commands several times and reports the median wall time and peak memory of each.

Shared by the benchmark scripts in this folder. Peak memory is the child's maximum resident
set size as the kernel reports it (wait4), so it needs no extra tools.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def run_once(argv, cwd=None, env=None):
    """One run: (seconds, peak RSS in bytes, CPU seconds, of which system). Fails loudly if the
    command fails.

    Peak RSS comes from GNU time (`%M`), which execs the command from a small process; a
    child forked from Python would carry Python's own memory into its high-water mark.
    """
    with tempfile.NamedTemporaryFile() as rss, tempfile.TemporaryFile() as err:
        full = list(argv)
        if GNU_TIME:
            full = [GNU_TIME, "-f", "%M %U %S", "-o", rss.name] + full
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{err.read().decode(errors='replace')}")
        if GNU_TIME:
            # The last line: "%M %U %S" (a line before it may be a note of time's).
            fields = open(rss.name).read().split()[-3:]
            peak = int(fields[0]) * 1024
            cpu = float(fields[1]) + float(fields[2])
            system = float(fields[2])
        else:
            # The children's totals so far: this run's share is the difference (the peak is
            # the largest of any child, this one's at least).
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            peak = usage.ru_maxrss * 1024
            system = usage.ru_stime - before.ru_stime
            cpu = usage.ru_utime - before.ru_utime + system
    return elapsed, peak, cpu, system


def drop_caches():
    """Empties the page cache (written data first), so that the next command reads its inputs
    from disk, as a first run on a CI runner does: True when done, False when this user may
    not (it needs root: /proc/sys/vm/drop_caches)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def measure(label, argv, runs=5, cwd=None, env=None, shell=False, cold=False):
    """Median seconds, CPU and system seconds, and the largest peak RSS over `runs` runs.
    With `cold`, the page cache is emptied before each run (see `drop_caches`); None when
    that is not allowed here."""
    if shell:
        argv = ["bash", "-c", argv]
    times, peaks, cpus, systems = [], [], [], []
    for _ in range(runs):
        # Start each run with nothing left to write back from the one before (a command that
        # wrote gigabytes would otherwise slow the next one's reads and fsyncs).
        os.sync()
        if cold and not drop_caches():
            return None
        t, rss, cpu, system = run_once(argv, cwd=cwd, env=env)
        times.append(t)
        peaks.append(rss)
        cpus.append(cpu)
        systems.append(system)
    return {"label": label, "median_s": statistics.median(times), "min_s": min(times),
            "peak_rss": max(peaks), "cpu_s": statistics.median(cpus),
            "sys_s": statistics.median(systems), "runs": runs}


def mib(n):
    return f"{n / (1 << 20):.1f} MiB"


def table(rows, baseline_label=None, size_bytes=None):
    """A Markdown table; ratios are against `baseline_label` when given."""
    base = next((r for r in rows if r["label"] == baseline_label), None)
    head = "| command | median | min | peak RSS |"
    line = "|---|---:|---:|---:|"
    if size_bytes:
        head += " throughput |"
        line += "---:|"
    if base:
        head += f" time / {baseline_label} |"
        line += "---:|"
    out = [head, line]
    for r in rows:
        cells = [f"`{r['label']}`", f"{r['median_s']:.3f} s", f"{r['min_s']:.3f} s", mib(r["peak_rss"])]
        if size_bytes:
            cells.append(f"{size_bytes / r['median_s'] / (1 << 20):.0f} MiB/s")
        if base:
            cells.append(f"{r['median_s'] / base['median_s']:.2f}×")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def machine():
    """One line describing the machine."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{os.cpu_count()} cores ({cpu}), {mem / (1 << 30):.0f} GiB RAM"


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hoist_binary(path=None):
    """The release binary, built first when missing."""
    path = path or os.path.join(ROOT, "target", "release", "hoist")
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    return path
