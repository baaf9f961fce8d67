#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/report.py - numbers out of the benchmark's raw files, and the report.

Called by bench/run-bench.sh; standard library only.

  report.py fio FILE read|write bw_mib|iops
      print one figure of a fio --output-format=json result (fails if fio
      reported an error)
  report.py json FILE NAME=KEY...
      print "NAME value" for each KEY of the JSON object a bench program
      printed on its last line (KEY may be a path: kinds.pwrite_mmap.p99_us)
  report.py render --run DIR --elapsed S --md FILE --png FILE
      aggregate DIR/results.jsonl, DIR/meta.json, DIR/pc_bench.json (and
      any further runs of it kept as DIR/pc_bench-*.json) and
      DIR/commands.txt into the Markdown report and the ratio plot

Aggregation: every cell is the median over the repetitions that succeeded,
with (min-max) beside it; a ratio is the median of mmapfs (or bindfs)
divided by the median of the backing filesystem measured in the same run.
"""

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

CONFIGS = ("backing", "mmapfs", "bindfs")

# id, label, unit, higher is better, target operator, target ratio
METRICS = [
    ("seq-write", "Sequential write, 1 MiB blocks + final fsync",
     "MiB/s", True, ">=", 0.9),
    ("seq-read-cold", "Sequential read, 1 MiB blocks, cold",
     "MiB/s", True, ">=", 0.8),
    ("seq-read-warm", "Sequential read, 1 MiB blocks, warm",
     "MiB/s", True, ">=", 0.95),
    ("rand-read-cold", "4 KiB random read, cold", "IOPS", True, ">=", 1.0),
    ("rand-read-warm", "4 KiB random read, warm", "IOPS", True, ">=", 0.95),
    ("rand-write", "4 KiB random write, fsync every 32",
     "IOPS", True, ">=", 0.8),
    ("mmap-rand-read", "mmap 4 KiB random read, warm",
     "IOPS", True, ">=", 0.95),
    ("mmap-rand-write", "mmap 4 KiB random write, msync every 32",
     "IOPS", True, ">=", 1.0),
    ("smallfiles-create", "Small files: create (1 KiB written)",
     "files/s", True, ">=", 0.5),
    ("smallfiles-stat", "Small files: stat", "files/s", True, ">=", 0.5),
    ("smallfiles-unlink", "Small files: unlink", "files/s", True, ">=", 0.5),
    ("sqlite-insert", "SQLite WAL+mmap: inserts, 1000-row transactions",
     "rows/s", True, ">=", 1.0),
    ("sqlite-lookup", "SQLite WAL+mmap: random lookups",
     "lookups/s", True, ">=", 1.0),
    ("msync-median", "msync(MS_SYNC) of one dirty page, median latency",
     "µs", False, "<=", 2.0),
    ("msync-p99", "msync(MS_SYNC) of one dirty page, p99 latency",
     "µs", False, "<=", 2.0),
]

# workload (as run-bench.sh names it) of each metric
WORKLOAD_OF = {m[0]: m[0] for m in METRICS}
WORKLOAD_OF.update({
    "smallfiles-create": "smallfiles", "smallfiles-stat": "smallfiles",
    "smallfiles-unlink": "smallfiles", "sqlite-insert": "sqlite",
    "sqlite-lookup": "sqlite", "msync-median": "msync-latency",
    "msync-p99": "msync-latency",
})

# short labels for the plot
SHORT = {
    "seq-write": "seq write", "seq-read-cold": "seq read cold",
    "seq-read-warm": "seq read warm", "rand-read-cold": "rand read cold",
    "rand-read-warm": "rand read warm", "rand-write": "rand write+fsync",
    "mmap-rand-read": "mmap rand read", "mmap-rand-write": "mmap write+msync",
    "smallfiles-create": "create", "smallfiles-stat": "stat",
    "smallfiles-unlink": "unlink", "sqlite-insert": "sqlite insert",
    "sqlite-lookup": "sqlite lookup", "msync-median": "msync p50 (lat.)",
    "msync-p99": "msync p99 (lat.)",
}


def die(msg):
    print("report.py: " + msg, file=sys.stderr)
    sys.exit(1)


def load_json(path):
    """The JSON object in PATH, skipping anything printed before it."""
    with open(path) as f:
        text = f.read()
    start = text.find("{")
    if start < 0:
        die(path + ": no JSON object")
    return json.loads(text[start:])


# ---- extraction ------------------------------------------------------------

def cmd_fio(path, ddir, what):
    res = load_json(path)
    job = res["jobs"][0]
    if job.get("error", 0):
        die("%s: fio reported error %d" % (path, job["error"]))
    d = job[ddir]
    if d.get("total_ios", 0) == 0:
        die("%s: no %s completed" % (path, ddir))
    if what == "bw_mib":
        print("%.1f" % (d["bw_bytes"] / 1048576.0))
    elif what == "iops":
        print("%.1f" % d["iops"])
    else:
        die("unknown fio figure " + what)


def cmd_json(path, pairs):
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    if not lines:
        die(path + ": empty")
    obj = json.loads(lines[-1])
    for pair in pairs:
        name, key = pair.split("=", 1)
        v = obj
        for k in key.split("."):    # a.b: key b of the object at key a
            v = v[k]
        print("%s %s" % (name, v))


# ---- aggregation -----------------------------------------------------------

def fmt(v):
    """A figure with 3 significant digits, thousands separated."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    a = abs(v)
    if a >= 100:
        return "{:,.0f}".format(v)
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


class Cell:
    """The repetitions of one metric on one configuration."""

    def __init__(self):
        self.values = []
        self.cpu = []
        self.rss = []
        self.failed = 0

    def median(self):
        return statistics.median(self.values) if self.values else None

    def text(self, reps):
        if not self.values:
            return "failed" if self.failed else "not measured"
        s = fmt(self.median())
        if len(self.values) > 1:
            s += " (%s–%s)" % (fmt(min(self.values)), fmt(max(self.values)))
        if self.failed:
            s += " [%d/%d failed]" % (self.failed, reps)
        return s


def aggregate(run):
    cells = {}      # (metric, config) -> Cell
    runs = {}       # (workload, config, rep) -> (cpu_s, rss_kib)
    failures = []
    with open(os.path.join(run, "results.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            cfg, wl = r["config"], r["workload"]
            if not r["ok"]:
                failures.append(r)
                for m in METRICS:
                    if WORKLOAD_OF[m[0]] == wl:
                        cells.setdefault((m[0], cfg), Cell()).failed += 1
                continue
            cells.setdefault((r["metric"], cfg), Cell()).values.append(
                float(r["value"]))
            # a workload with several metrics has one daemon, one sample
            if "cpu_s" in r:
                runs[(wl, cfg, r["rep"])] = (float(r["cpu_s"]),
                                             int(r["rss_kib"]))
    wcells = {}     # (workload, config) -> Cell with cpu and rss
    for (wl, cfg, _rep), (cpu, rss) in sorted(runs.items()):
        c = wcells.setdefault((wl, cfg), Cell())
        c.cpu.append(cpu)
        c.rss.append(rss)
    return cells, wcells, failures


def ratio(cells, metric, cfg):
    a = cells.get((metric, cfg))
    b = cells.get((metric, "backing"))
    if not a or not b or a.median() is None or not b.median():
        return None
    return a.median() / b.median()


def met(r, op, target):
    if r is None:
        return "n/a"
    ok = r >= target if op == ">=" else r <= target
    return "yes" if ok else "**no**"


# ---- plot ------------------------------------------------------------------

def plot(rows, png, title):
    """rows: (label, mmapfs ratio, bindfs ratio, target, note on the
    mmapfs bar such as "failed") per metric."""
    if shutil.which("gnuplot"):
        return plot_gnuplot(rows, png, title)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: neither gnuplot nor matplotlib: no plot",
              file=sys.stderr)
        return False
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(12, 5.5))
    w = 0.38
    ax.bar([i - w / 2 for i in x], [r[1] or float("nan") for r in rows], w,
           label="mmapfs / backing")
    ax.bar([i + w / 2 for i in x], [r[2] or float("nan") for r in rows], w,
           label="bindfs / backing")
    ax.scatter(list(x), [r[3] for r in rows], marker="_", s=600, c="red",
               label="target for mmapfs (a minimum; a maximum for latency)",
               zorder=3)
    for i, r in enumerate(rows):
        if r[4]:
            ax.text(i - w / 2, 0.012, r[4], rotation=90, ha="center",
                    va="bottom", color="#1f77b4")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.01)
    ax.set_xticks(list(x))
    ax.set_xticklabels([r[0] for r in rows], rotation=40, ha="right")
    ax.set_ylabel("ratio to the backing filesystem (log)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    return True


def plot_gnuplot(rows, png, title):
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, "ratios.dat")
        with open(dat, "w") as f:
            for label, a, b, t, note in rows:
                f.write('"%s" %s %s %s "%s"\n' % (
                    label, "%.4f" % a if a else "?",
                    "%.4f" % b if b else "?", t, note))
        script = """
set terminal pngcairo size 1200,560 font "sans,10"
set output "%s"
set title "%s"
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set ylabel "ratio to the backing filesystem (log scale)"
set grid ytics
set xtics rotate by -40 left nomirror
set key outside top center horizontal
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "grey40" dt 2
plot "%s" using 2:xtic(1) title "mmapfs / backing" lc rgb "#1f77b4", \\
     "" using 3 title "bindfs / backing" lc rgb "#ff7f0e", \\
     "" using ($0):4 with points pt 5 ps 1.3 lc rgb "red" \\
        title "target for mmapfs (a minimum; a maximum for latency)", \\
     "" using ($0 - 0.2):(0.012):5 with labels rotate by 90 left \\
        tc rgb "#1f77b4" notitle
""" % (png, title.replace('"', "'"), dat)
        p = subprocess.run(["gnuplot"], input=script, text=True,
                           capture_output=True)
        if p.returncode != 0:
            print("report.py: gnuplot failed:\n" + p.stderr, file=sys.stderr)
            return False
    return True


# ---- the report --------------------------------------------------------------

# kind (as coherence_bench names it), what changes outside, how it is seen
COH_KINDS = [
    ("pwrite_mmap", "`pwrite()` on the backing file",
     "in a `MAP_SHARED` mapping on the mount"),
    ("pwrite_pread", "`pwrite()` on the backing file", "by `pread()` on the mount"),
    ("mstore_mmap", "store through an outside `MAP_SHARED` mapping, "
     "into a clean page", "in a `MAP_SHARED` mapping on the mount"),
    ("grow_fstat", "`ftruncate()` larger", "new size by `fstat()`, "
     "new last byte readable"),
    ("shrink_sigbus", "`ftruncate()` smaller",
     "`SIGBUS` touching the mapping past the new end"),
    ("two_mounts", "store + `msync(MS_SYNC)` on a second mmapfs mount",
     "in a `MAP_SHARED` mapping on the first"),
]


def nearest_rank(values, q):
    """Quantile @q of the sorted @values, as coherence_bench computes it."""
    i = min(max(int(q * len(values) + 0.999999), 1), len(values))
    return values[i - 1]


def ms(us):
    return fmt(us / 1000.0)


def load_json_quiet(path):
    """The JSON object a measurement left in PATH, or None if it failed
    (no file, nothing or half an object in it)."""
    try:
        with open(path) as f:
            text = f.read()
        return json.loads(text[text.index("{"):])
    except (OSError, ValueError):
        return None


def coherence_section(run, meta, configs, w):
    """Visibility of outside changes and the idle cost of watching:
    coherence_bench's JSON files in @run, written by the mmapfs
    configuration only."""
    if "coh_files" not in meta:
        return
    w("## Outside changes: visibility and the cost of watching "
      "(`bench/coherence_bench`)")
    w("")
    if "mmapfs" not in configs:
        w("Not measured in this run (the mmapfs configuration was not run).")
        w("")
        return
    lat = []
    for rep in range(1, int(meta["reps"]) + 1):
        r = load_json_quiet(
            os.path.join(run, "mmapfs-coh-latency-r%d.json" % rep))
        if r:
            lat.append(r)
    w("Issue #6 and docs/semantics.md, A6: how soon a change made to a "
      "backing file outside the mount is visible through it. Only mmapfs "
      "has this notion: backing fs n/a (the change is made there), bindfs "
      "n/a (no watcher; not measured). The program changes a "
      "file outside, then polls the mount (every %s µs plus timer slack) "
      "until the new value (a fresh sequence number every time) shows, "
      "with random 20–60 ms gaps between changes and the kinds taken in "
      "turn; a change not seen within %s s counts as a timeout. The "
      "samples of all repetitions are pooled (%s per kind from each; %d "
      "repetition%s measured), each repetition with a fresh daemon (and a "
      "second mmapfs mount of the same directory for the last row), "
      "default options (`revalidate_ms=50`)."
      % (lat[0]["poll_us"] if lat else "?",
         lat[0]["timeout_s"] if lat else "?", meta["coh_samples"], len(lat),
         "" if len(lat) == 1 else "s"))
    w("")
    if lat:
        w("| change outside | seen | samples | median ms | p90 ms | p99 ms "
          "| max ms | timeouts |")
        w("|---|---|---:|---:|---:|---:|---:|---:|")
        for kid, what, seen in COH_KINDS:
            runs = [r["kinds"][kid] for r in lat if kid in r["kinds"]]
            if not runs:
                continue
            v = sorted(x for r in runs for x in r["samples_us"])
            to = sum(r["timeouts"] for r in runs)
            if not v:
                w("| %s | %s | 0 | – | – | – | – | %d |" % (what, seen, to))
                continue
            w("| %s | %s | %d | %s | %s | %s | %s | %d |" % (
                what, seen, len(v), ms(nearest_rank(v, 0.5)),
                ms(nearest_rank(v, 0.9)), ms(nearest_rank(v, 0.99)),
                ms(v[-1]), to))
        w("")
        w("`write()`, truncation and the second mount's write-back reach "
          "the watcher through inotify at once; a store through an outside "
          "mapping changes nothing inotify reports, only the file's "
          "mtime/ctime (at the first store into a clean page), which the "
          "watcher polls every `revalidate_ms` while the file is open "
          "through the mount: hence its median of about half that "
          "interval. The time includes the daemon's reaction (write-back "
          "of its own dirty pages, invalidation of its cache and the "
          "kernel's) and the refault or re-read through FUSE.")
        w("")
    else:
        w("The latency measurement failed in every repetition (see the "
          "failed measurements above).")
        w("")

    idle = {}
    for key, name in (("on", "mmapfs-coh-idle-r1.json"),
                      ("off", "mmapfs-coh-idle-norv-r1.json")):
        r = load_json_quiet(os.path.join(run, name))
        if r:
            idle[key] = r
    files = int(meta["coh_files"])
    w("Idle cost of watching: a fresh daemon's CPU time (utime + stime of "
      "all its threads) over %s idle seconds, before anything is opened "
      "and then with %s small files opened through the mount and one byte "
      "of each read, so that every one is cached, open and watched (first "
      "repetition only). Checks/s counts the daemon's fstat-family system "
      "calls with `perf stat` during 2 more seconds right after, apart so "
      "that the tracing does not weigh on the CPU time (the watcher makes "
      "one fstat per check; – if perf could not count). The row without "
      "revalidation, same files open, is the daemon's other work with that "
      "many files open."
      % (meta["coh_idle_s"], "{:,}".format(files)))
    w("")
    w("Descriptors: the daemon holds one per file open through the mount "
      "(its own description of the backing file, also lent to the watcher "
      "for its `fstat`) plus its caches of mapping descriptors "
      "(`max_file_fds`, `RLIMIT_NOFILE` / 4) and `O_PATH` ones "
      "(`max_path_fds`, / 8); open-file limit here: %s. Where root may "
      "raise its hard limit the daemon raises it to `fs.nr_open`, and the "
      "caches grow with it."
      % meta.get("nofile", "?"))
    w("")
    if files < 10000:
        w("**%s files, not the 10,000 issue #6 asks for** (`BENCH_COH_FILES`"
          " was set lower)." % "{:,}".format(files))
        w("")
    if idle:
        w("| files open | revalidation | daemon CPU s | % of one core "
          "| checks/s | daemon descriptors |")
        w("|---:|---|---:|---:|---:|---:|")

        def row(n, label, r, fds):
            if not r:
                return
            c = r.get("fstat_per_s")
            w("| %s | %s | %s | %s | %s | %s |" % (
                "{:,}".format(n), label, fmt(r["cpu_s"]), fmt(r["cpu_pct"]),
                "–" if c is None else "{:,.0f}".format(c), fds))
        for key, label in (("on", "on (`revalidate_ms=50`)"),
                           ("off", "off (`-o no_revalidate`)")):
            r = idle.get(key)
            if not r:
                w("| %s | %s | failed | | | |" % ("{:,}".format(files),
                                                   label))
                continue
            row(0, label, r.get("baseline"), "–")
            row(r["files"], label, r["open"], "{:,}".format(r["daemon_fds"]))
        on, off = idle.get("on"), idle.get("off")
        if on and off and on["files"] == off["files"]:
            extra = on["open"]["cpu_pct"] - off["open"]["cpu_pct"]
            w("")
            w("Attributable to revalidating %s open files (on minus off, "
              "same files open): **%s %% of one core**, %s µs of CPU per "
              "file and second." % (
                  "{:,}".format(on["files"]), fmt(extra),
                  fmt(extra / 100.0 * 1e6 / on["files"])))
            c = on["open"].get("fstat_per_s")
            if c:
                w("")
                w("That is about %s µs per check at %s checks/s; an open "
                  "file is checked every `revalidate_ms` however idle it "
                  "is, so the cost grows with the number of open files "
                  "and falls in proportion to a longer `revalidate_ms` "
                  "(the bound for stores through outside mappings grows "
                  "with it); `-o no_revalidate` removes it." % (
                      fmt(extra / 100.0 * 1e6 / c), "{:,.0f}".format(c)))
        w("")
    else:
        w("The idle measurement failed (see the failed measurements above).")
        w("")


def verdict(ratio, paired, short=False):
    """Issue #4's target (>= 1.0) from the ratio of the medians and the
    median of the per-repetition ratios."""
    if ratio >= 1.0 and paired >= 1.0:
        return "**met**"
    if ratio < 1.0 and paired < 1.0:
        return "**not met**"
    if short:
        return "undecided"
    return ("**undecided**: the ratio of the medians and the median of the "
            "ratios within each repetition fall on different sides of 1.0")


def pc_section(pc, w):
    """The pagecache micro-benchmark: write-back against pwritev, each
    phase, then the hit path."""
    wr, hit = pc["write"], pc["hit"]
    runs = wr["runs"]
    reps = wr["reps"]
    chunk_kib = wr["chunk_bytes"] // 1024

    def cell(m, key):
        r = runs[m]
        return "%s (%s–%s)" % (fmt(r[key + "_median"]), fmt(r[key + "_min"]),
                               fmt(r[key + "_max"]))

    when = ""
    if "date" in pc:
        when = (" pc_bench ran on %s on %s CPUs%s; load average (1, 5, 15 "
                "min) %s at its start and %s at its end." % (
                    pc["date"], pc.get("nproc", "?"),
                    " at nice %d" % pc["nice"] if pc.get("nice") else "",
                    pc.get("loadavg_start", "?"), pc.get("loadavg_end", "?")))
    w("`pagecache/libpagecache.a` alone, linked with liburing and no FUSE "
      "(`bench/pc_bench.c`), on the same filesystem. %s MiB go into one new "
      "file and are made durable, by each method in turn, %d time%s "
      "(write-back %s).%s" % (
          wr["mib"], reps, "" if reps == 1 else "s",
          "on io_uring" if wr["uring"] else
          "on the pwritev fallback, io_uring unusable", when))
    w("")
    w("Every run is timed in two phases: **write**, until every byte is in "
      "the backing filesystem's page cache (the `pwritev` calls have "
      "returned, or every write-back request has completed), and **sync**, "
      "the `fdatasync` that makes it durable. Before each timed part the "
      "file is new (deleted and created again), `sync` has run and the "
      "clean page cache was dropped (`echo 1 > /proc/sys/vm/drop_caches`%s). "
      "The methods alternate, in one order and then in the reverse order "
      "(A B B A ...), after one warm-up round that is not counted. Each "
      "figure is the median with (min–max) beside it; a speed ratio is "
      "`pwritev`'s seconds divided by the engine's, so >= 1.0 means the "
      "engine is at least as fast." % (
          "" if wr["drop_caches"] else ": **not done in this run, not root**"))
    w("")
    if "target" in wr and "pc_held" in runs and "pwritev_held" in runs:
        t = wr["target"]
        w("### Write-back of a held dirty cache against `pwritev` "
          "(issue #4's target)")
        w("")
        w("The same %s MiB, already in memory, go into the file two ways:"
          % wr["mib"])
        w("")
        w("- reference, `pwritev`: from one buffer that holds them (written "
          "and faulted in before the timing), in requests of %d KiB, the "
          "engine's largest write (`max_write_pages` pages), one iovec "
          "each; then `fdatasync`;" % chunk_kib)
        w("- write-back: from a cache that holds them dirty (`pc_write` "
          "before the timing into a new mapping of a cache kept from run to "
          "run, as the daemon keeps it, with room for all of it and "
          "background write-back held off; the run fails if anything was "
          "written before). Adjacent dirty pages go out as "
          "`IORING_OP_WRITEV`s of up to %d KiB, `queue_depth` in flight. "
          "Timed two ways: **as an fsync** (`pc_fsync`: one "
          "`pc_write_and_wait`, which writes in batches of `queue_depth` "
          "requests, hands each batch to the backing filesystem's write-out "
          "while the next one is written, and commits with `fdatasync`), and "
          "**in phases** (`pc_held`: `pc_writeback_range` of the whole file, "
          "then `pc_write_and_wait`, which finds nothing left to write and "
          "commits)." % chunk_kib)
        w("")
        if "fsync_ratio" in t:
            w("| write-back made durable | `pwritev` + `fdatasync` s | "
              "write-back s | speed ratio of the medians | speed ratio "
              "within each repetition: median (min–max) |")
            w("|---|---|---|---:|---|")
            w("| as an fsync (decides the target) | %s | %s | %.2f | "
              "%.2f (%.2f–%.2f) |" % (
                  cell("pwritev_held", "total_s"),
                  cell("pc_fsync", "total_s"), t["fsync_ratio"],
                  t["fsync_paired_median"], t["fsync_paired_min"],
                  t["fsync_paired_max"]))
            w("")
        w("In phases:")
        w("")
        w("| phase | `pwritev` s | write-back s | speed ratio of the medians "
          "| speed ratio within each repetition: median (min–max) |")
        w("|---|---|---|---:|---|")
        for ph, label in (("write", "write"),
                          ("sync", "sync (`fdatasync`)"),
                          ("total", "total")):
            w("| %s | %s | %s | %.2f | %.2f (%.2f–%.2f) |" % (
                label, cell("pwritev_held", ph + "_s"),
                cell("pc_held", ph + "_s"), t[ph + "_ratio"],
                t[ph + "_paired_median"], t[ph + "_paired_min"],
                t[ph + "_paired_max"]))
        w("")
        w("CPU seconds during the write phase, median (min–max): the "
          "process (all its threads, io_uring's workers included) %s with "
          "`pwritev`, %s with write-back; the rest of the machine "
          "meanwhile %s and %s." % (
              cell("pwritev_held", "write_cpu_s"),
              cell("pc_held", "write_cpu_s"),
              cell("pwritev_held", "write_other_cpu_s"),
              cell("pc_held", "write_other_cpu_s")))
        w("")
        if "fsync_ratio" in t:
            w("Target (write-back of the held dirty cache at least as fast as "
              "`pwritev` + `fdatasync` of the same data, >= 1.0), decided "
              "as the issue's benchmark states it, on the data made durable: "
              "%s (%.2f of the medians, %.2f within each repetition). Where "
              "it comes from: the fsync lets the disk write the first "
              "batches while later ones are copied, which `pwritev` followed "
              "by `fdatasync` does not do (a program can get that overlap by "
              "hand: `pwritev_writeout` below issues `sync_file_range` after "
              "each batch). The copy alone (the write phase: the same bytes, "
              "from memory, into the same filesystem's page cache) is at "
              "%.2f of the medians and %.2f within each repetition; its "
              "fastest runs took %s s with `pwritev` and %s s with "
              "write-back. Runs of the copy that take 1-2 s instead of 0.2 s, "
              "with the CPU busy all along (below), move those two ratios "
              "far more than the engine does." % (
                  verdict(t["fsync_ratio"], t["fsync_paired_median"]),
                  t["fsync_ratio"], t["fsync_paired_median"],
                  t["write_ratio"], t["write_paired_median"],
                  fmt(runs["pwritev_held"]["write_s_min"]),
                  fmt(runs["pc_held"]["write_s_min"])))
        else:
            w("Target not decided in this run: `pc_fsync` did not run.")
        w("")
    labels = {
        "pwritev_held": "`pwritev` of data held in %s MiB of memory "
                        "(the reference above)" % wr["mib"],
        "pc_held": "write-back of a held dirty cache, in phases (above)",
        "pc_fsync": "write-back of a held dirty cache as an fsync (above; "
                    "all of it is in the write column)",
        "pwritev_writeout": "`pwritev` of the held data with "
                            "`sync_file_range(SYNC_FILE_RANGE_WRITE)` after "
                            "each batch of `queue_depth` requests, then "
                            "`fdatasync`",
        "pwritev": "`pwritev` of one hot %d KiB buffer again and again "
                   "(the kernel's page cache, as an application uses it)"
                   % chunk_kib,
        "pc": "`pc_write` + `pc_writeback_range` + `pc_write_and_wait`, "
              "default config (cache_size %s MiB, dirty_bytes %s MiB): "
              "throttled writers, background write-back" % (
                  fmt(wr["default_cache_size"] / 1048576.0),
                  fmt(wr["default_dirty_bytes"] / 1048576.0)),
        "pc_roomy": "the same, roomy config (cache_size %s MiB, "
                    "dirty_bytes %s MiB): no throttling, the engine writes "
                    "everything" % (
                        fmt(wr["roomy_cache_size"] / 1048576.0),
                        fmt(wr["roomy_dirty_bytes"] / 1048576.0)),
    }
    w("All methods (the write phase of `pwritev`, `pc` and `pc_roomy` "
      "includes copying the "
      "data from the program's buffer, into the kernel's page cache or "
      "into ours):")
    w("")
    w("| method | write s | sync s | total s | MiB/s, total | process CPU "
      "s, write | others' CPU s, write |")
    w("|---|---|---|---|---:|---|---|")
    for m in wr["methods"]:
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            labels.get(m, m), cell(m, "write_s"), cell(m, "sync_s"),
            cell(m, "total_s"), fmt(wr["mib"] / runs[m]["total_s_median"]),
            cell(m, "write_cpu_s"), cell(m, "write_other_cpu_s")))
    w("")
    w("\"Others' CPU\" is what the rest of the machine used during the "
      "write phase (`/proc/stat`, busy time of all CPUs less the process's "
      "own): on a shared machine, the noise. A second source seen on the "
      "benchmark machine: some runs copy two to three times slower with "
      "nobody else busy, more often right after large amounts of memory "
      "were freed and allocated again (that guest kernel hands freed "
      "memory back to its host: free page reporting through "
      "virtio_balloon); the warm-up round and the caches kept from run to "
      "run keep most of it out, and the ratio within each repetition shows "
      "what is left.")
    w("")
    w("Hit path: %s random page-aligned 4 KiB reads over a %s MiB file "
      "whose pages are all cached (checked: no miss during the loop)."
      % ("{:,}".format(hit["ops"]), hit["file_mib"]))
    w("")
    w("| 4 KiB read from a warm cache | ns per read |")
    w("|---|---:|")
    w("| `pc_read`, 1 thread | %s |" % fmt(hit["pc_read_ns"]))
    w("| `pc_read`, 2 threads on one mapping (wall time / reads) | %s |"
      % fmt(hit["pc_read_2threads_ns"]))
    w("| `pread` from the kernel's page cache, for scale | %s |"
      % fmt(hit["pread_ns"]))
    w("| `memcpy` of 4 KiB from a private buffer, for scale | %s |"
      % fmt(hit["memcpy_ns"]))
    w("")


def pc_other_runs(run, w):
    """More runs of pc_bench kept beside pc_bench.json as pc_bench-*.json
    (run-bench.sh makes one; repeated runs show how far a verdict holds)."""
    names = sorted(n for n in os.listdir(run)
                   if n.startswith("pc_bench-") and n.endswith(".json"))
    rows = []
    for name in ["pc_bench.json"] + names:
        pc = load_json(os.path.join(run, name))
        wr = pc["write"]
        if "target" not in wr:
            continue
        rows.append((pc, wr["runs"], wr["target"]))
    if len(rows) < 2:
        return
    w("Every run of pc_bench kept with this report (the first is the one "
      "above), write-back against `pwritev`, medians with (min–max):")
    w("")
    w("| ran on | nice | reps | load average at start, end | total s: "
      "`pwritev` + `fdatasync` | s: write-back as an fsync | fsync ratio "
      "(within reps) | write-phase ratio (within reps) | target |")
    w("|---|---:|---:|---|---|---|---|---|---|")
    for pc, runs, t in rows:
        def cell(m, key, r=runs):
            if m not in r:
                return "–"
            return "%s (%s–%s)" % (fmt(r[m][key + "_median"]),
                                   fmt(r[m][key + "_min"]),
                                   fmt(r[m][key + "_max"]))
        if "fsync_ratio" in t:
            fs = "%.2f (%.2f)" % (t["fsync_ratio"], t["fsync_paired_median"])
            v = verdict(t["fsync_ratio"], t["fsync_paired_median"], True)
        else:
            fs, v = "–", "not decided (no `pc_fsync`)"
        w("| %s | %s | %d | %s; %s | %s | %s | %s | %.2f (%.2f) | %s |"
          % (pc.get("date", "?"), pc.get("nice", "?"), pc["write"]["reps"],
             pc.get("loadavg_start", "?"), pc.get("loadavg_end", "?"),
             cell("pwritev_held", "total_s"), cell("pc_fsync", "total_s"),
             fs, t["write_ratio"], t["write_paired_median"], v))
    w("")
    both = [(r, t) for _, r, t in rows if "fsync_ratio" in t]
    if both:
        ref = [x for r, _ in both for x in r["pwritev_held"]["total_s"]]
        eng = [x for r, _ in both for x in r["pc_fsync"]["total_s"]]
        paired = [x for _, t in both for x in t["fsync_paired"]]
        w("All %d repetitions of these runs with `pc_fsync` together: "
          "`pwritev` + `fdatasync` %s s, write-back as an fsync %s s "
          "(medians); speed ratio of the medians %.2f, within each "
          "repetition %.2f (%.2f–%.2f)." % (
              len(paired), fmt(statistics.median(ref)),
              fmt(statistics.median(eng)),
              statistics.median(ref) / statistics.median(eng),
              statistics.median(paired), min(paired), max(paired)))
        w("")


def render(run, elapsed, md_path, png_path):
    meta = load_json(os.path.join(run, "meta.json"))
    cells, wcells, failures = aggregate(run)
    reps = int(meta["reps"])
    configs = meta["configs"].split()
    cache_mib = int(meta["cache_size"]) / 1048576.0
    out = []
    w = out.append

    w("# mmapfs benchmarks")
    w("")
    w("Generated by `make bench` (`bench/run-bench.sh`, `bench/report.py`) "
      "on %s; do not edit by hand: run it again." % meta["date"])
    w("")
    if meta.get("quick") == "1":
        w("**Quick run (`BENCH_QUICK=1`): one repetition and small sizes; "
          "these figures are for checking the harness, not for judging "
          "mmapfs.**")
        w("")
    if meta.get("mmapfs_missing"):
        w("**The mmapfs column could not be measured: %s.**"
          % meta["mmapfs_missing"])
        w("")
    w("Each cell is the median of %d repetition%s with (min–max) beside it. "
      "The ratios divide the median of mmapfs (or bindfs) by the median of "
      "the backing filesystem in the same run. For latency rows a lower "
      "figure is better and the ratio's target is a maximum. Configurations "
      "were interleaved (backing, mmapfs, bindfs, backing, ...) and every "
      "FUSE measurement used a freshly started daemon. The whole run took "
      "%d min %02d s." % (reps, "" if reps == 1 else "s", elapsed // 60,
                          elapsed % 60))
    w("")
    w("| workload | unit | backing fs | mmapfs | bindfs | mmapfs / backing "
      "| bindfs / backing | target (mmapfs / backing) | met |")
    w("|---|---|---:|---:|---:|---:|---:|---|---|")
    plot_rows = []
    summary = [0, 0]
    for mid, label, unit, _hib, op, target in METRICS:
        texts = []
        for cfg in CONFIGS:
            if cfg not in configs:
                texts.append("not measured")
            else:
                texts.append(cells.get((mid, cfg), Cell()).text(reps))
        rm = ratio(cells, mid, "mmapfs")
        rb = ratio(cells, mid, "bindfs")
        m = met(rm, op, target)
        if m != "n/a":
            summary[1] += 1
            summary[0] += m == "yes"
        w("| %s | %s | %s | %s | %s | %s | %s | %s %s | %s |" % (
            label, unit, texts[0], texts[1], texts[2],
            "%.2f" % rm if rm is not None else "–",
            "%.2f" % rb if rb is not None else "–", op, target, m))
        note = texts[1] if texts[1] in ("failed", "not measured") else ""
        plot_rows.append((SHORT[mid], rm, rb, target, note))

    # Peak RSS: the largest VmHWM of any workload's daemon.
    limit = cache_mib + 32
    rss = {}
    for cfg in ("mmapfs", "bindfs"):
        v = [max(c.rss) for (wl, c2), c in wcells.items()
             if c2 == cfg and c.rss]
        rss[cfg] = max(v) / 1024.0 if v else None
    rtext = ["–" if cfg == "backing" else
             ("not measured" if cfg not in configs else
              ("%s MiB" % fmt(rss[cfg]) if rss[cfg] is not None else "failed"))
             for cfg in CONFIGS]
    m = "n/a" if rss["mmapfs"] is None else (
        "yes" if rss["mmapfs"] <= limit else "**no**")
    if m != "n/a":
        summary[1] += 1
        summary[0] += m == "yes"
    w("| Daemon peak RSS (VmHWM, largest over all workloads) | MiB | %s | %s "
      "| %s | – | – | <= cache_size + 32 MiB = %s MiB | %s |"
      % (rtext[0], rtext[1], rtext[2], fmt(limit), m))
    w("")
    w("Targets met: **%d of %d** measurable. What limits the others, from "
      "profiles of the daemon: docs/performance.md (written by hand)."
      % tuple(summary))
    w("")
    fl = [cells.get(("msync-flushes", cfg)) for cfg in CONFIGS]
    if any(c and c.values for c in fl):
        w("Durability check: device cache flushes per msync during the msync "
          "workload (counted for the whole disk, so other activity can only "
          "add to them; a durable `msync(MS_SYNC)` needs at least one): "
          + ", ".join("%s %s" % (cfg, fmt(c.median()) if c and c.values
                                  else "–")
                      for cfg, c in zip(CONFIGS, fl)) + ".")
        w("")
    w("![ratios to the backing filesystem](benchmarks-ratios.png)")
    w("")
    if failures:
        w("Failed measurements (logs in `%s/logs/`):" % meta["dir"])
        w("")
        for r in failures:
            w("- %s, %s, repetition %d: %s%s" % (
                r["config"], r["workload"], r["rep"], r["error"],
                ": `%s`" % r["log"] if r.get("log") else ""))
        w("")

    w("## Daemon CPU time and memory per workload")
    w("")
    w("CPU time is utime + stime of all the daemon's threads during the "
      "timed part (from `/proc/PID/stat`), median over the repetitions; "
      "peak RSS is `VmHWM` at the end of the workload (the daemon is "
      "started afresh for each one, warm-up included), largest over the "
      "repetitions. mmapfs ran with `-o cache_size=%d` (%s MiB)."
      % (int(meta["cache_size"]), fmt(cache_mib)))
    w("")
    w("| workload | mmapfs CPU s | mmapfs peak RSS MiB | bindfs CPU s "
      "| bindfs peak RSS MiB |")
    w("|---|---:|---:|---:|---:|")
    seen = []
    for mid in [m[0] for m in METRICS]:
        wl = WORKLOAD_OF[mid]
        if wl in seen:
            continue
        seen.append(wl)
        row = [wl]
        for cfg in ("mmapfs", "bindfs"):
            c = wcells.get((wl, cfg))
            if not c or not c.cpu:
                row += ["–", "–"]
            else:
                row += [fmt(statistics.median(c.cpu)),
                        fmt(max(c.rss) / 1024.0)]
        w("| %s |" % " | ".join(row))
    w("")

    coherence_section(run, meta, configs, w)

    pc_path = os.path.join(run, "pc_bench.json")
    w("## pagecache micro-benchmark (`bench/pc_bench`)")
    w("")
    if os.path.exists(pc_path):
        pc_section(load_json(pc_path), w)
        pc_other_runs(run, w)
    else:
        w("Not measured in this run (`BENCH_PC=0`, or pc_bench failed: see "
          "`%s/logs/pc_bench.log`)." % meta["dir"])
        w("")

    w("## Machine and versions")
    w("")
    for key, label in (
            ("cpu_model", "CPU"), ("host_nproc", "CPUs online (nproc)"),
            ("mem_total", "RAM"), ("kernel", "kernel"),
            ("debian", "Debian"), ("backing_fs", "backing filesystem"),
            ("backing_mount_opts", "its mount options"),
            ("fio", "fio"), ("bindfs", "bindfs"), ("libfuse", "libfuse"),
            ("liburing", "liburing"), ("sqlite", "SQLite (libsqlite3)"),
            ("cc", "compiler"), ("mmapfs_rev", "mmapfs revision"),
            ("nofile", "open-file limit (RLIMIT_NOFILE) the daemons start with"),
            ("date", "date")):
        w("- %s: %s" % (label, meta.get(key, "?")))
    end = os.path.join(run, "loadavg_end")
    if os.path.exists(end):
        with open(end) as f:
            w("- load average (1, 5, 15 min) at the start: %s; at the end: "
              "%s (the harness alone keeps about one CPU busy; more means "
              "something else ran)" % (meta.get("loadavg_start", "?"),
                                       f.read().strip()))
    w("- mmapfs assertions (`assert()` sanity checks): %s" % (
        "compiled out (`--disable-debug`)" if meta.get("ndebug") == "yes"
        else "**on** (the default `--enable-debug` build)"))
    w("")

    perf = sorted(f for f in os.listdir(run)
                  if f.startswith("perf-") and f.endswith(".txt"))
    if perf:
        w("## Profile of the mmapfs daemon")
        w("")
        w("`perf record -g -p PID` of the daemon during the workloads named "
          "in `BENCH_PERF`, first repetition (the profiler slows that "
          "repetition a little); the symbols with the most samples, self "
          "time:")
        w("")
        for name in perf:
            w("%s:" % name[5:-4])
            w("")
            w("```")
            with open(os.path.join(run, name)) as f:
                rows = [ln.rstrip() for ln in f
                        if ln.strip() and not ln.startswith("#")]
            for ln in rows[:20]:
                w(ln)
            w("```")
            w("")

    w("## What ran")
    w("")
    w("Sizes: sequential file %s MiB; random I/O over a %s MiB file; "
      "time-based fio jobs run %s s; %s small files of 1 KiB; SQLite %s rows "
      "in %s-row transactions then %s lookups; %s timed msyncs. Scratch "
      "directory `%s` (a local filesystem, not tmpfs)."
      % ("{:,}".format(meta["seq_mib"]), meta["rand_mib"], meta["runtime"],
         "{:,}".format(meta["files"]), "{:,}".format(meta["sqlite_rows"]),
         "{:,}".format(meta["sqlite_txn"]),
         "{:,}".format(meta["sqlite_lookups"]),
         "{:,}".format(meta["msync_iters"]), meta["dir"]))
    if "coh_files" in meta:
        w("")
        w("coherence (mmapfs only): %s latency samples per kind and "
          "repetition; %s files open for %s idle seconds."
          % (meta["coh_samples"], "{:,}".format(meta["coh_files"]),
             meta["coh_idle_s"]))
    w("")
    w("- mount: `%s`" % meta["mmapfs_cmd"])
    w("- mount: `%s` (bindfs's defaults: single-threaded)" % meta["bindfs_cmd"])
    w("- cold: `sync; echo 3 > /proc/sys/vm/drop_caches`, then a fresh "
      "daemon (so mmapfs's own cache is empty too)")
    w("- warm: the file is read once with `cat` through the same mount "
      "just before the timed part (seq-read-warm, rand-read-warm, "
      "mmap-rand-read, mmap-rand-write)")
    w("- fio's `--invalidate=0` everywhere: the harness, not fio, decides "
      "what is cached; `--fallocate=none` so that every configuration sees "
      "the same writes; fio's bandwidth for seq-write includes the final "
      "fsync (`end_fsync=1`)")
    w("- rand-read-cold makes one pass at most (fio's random map never "
      "repeats a block), capped at the runtime, so every read is a miss")
    w("- with `ioengine=mmap`, `fsync=32` makes every 32nd operation an "
      "`msync(MS_SYNC)` of the whole mapped file (fio `engines/mmap.c`); "
      "`sync=1` would only open the file `O_SYNC`, which stores through a "
      "mapping ignore")
    w("- sqlite: `synchronous` left at its default (FULL: the WAL is "
      "fsynced at every commit); the lookups run after closing (which "
      "checkpoints) and reopening the database")
    w("- the virtual disk of this machine may be cached by its host: "
      "`drop_caches` empties the guest's caches only, so \"cold\" reads "
      "may be faster than a physical disk's")
    w("")
    w("Commands, as run for the first configuration in the first "
      "repetition (`TARGET` differs per configuration):")
    w("")
    w("```")
    with open(os.path.join(run, "commands.txt")) as f:
        w(f.read().rstrip())
    w("```")
    w("")
    w("Rerun: `make bench` (as root). Settings: `BENCH_REPS`, `BENCH_QUICK=1`, "
      "`BENCH_DIR`, `BENCH_SEQ_MIB`, `BENCH_RAND_MIB`, `BENCH_RUNTIME`, "
      "`BENCH_CACHE_SIZE`, `BENCH_MMAPFS_OPTS`, `BENCH_CONFIGS`, "
      "`BENCH_WORKLOADS`, `BENCH_PERF`, `BENCH_PC_REPS`, `BENCH_COH_SAMPLES`, "
      "`BENCH_COH_FILES`, `BENCH_COH_IDLE_S` (see the top of "
      "`bench/run-bench.sh`).")
    w("")

    with open(md_path, "w") as f:
        f.write("\n".join(out))
    title = "mmapfs and bindfs relative to the backing filesystem (%s)" % (
        meta["date"])
    if not plot(plot_rows, png_path, title):
        print("report.py: the plot was not written", file=sys.stderr)


def main(argv):
    if len(argv) >= 5 and argv[1] == "fio":
        cmd_fio(argv[2], argv[3], argv[4])
    elif len(argv) >= 4 and argv[1] == "json":
        cmd_json(argv[2], argv[3:])
    elif len(argv) >= 2 and argv[1] == "render":
        opts = dict(zip(argv[2::2], argv[3::2]))
        for k in ("--run", "--elapsed", "--md", "--png"):
            if k not in opts:
                die("render needs " + k)
        render(opts["--run"], int(opts["--elapsed"]), opts["--md"],
               opts["--png"])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
