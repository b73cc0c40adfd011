#!/usr/bin/env python3
"""bench/run.py - runs the bench binaries built by bench/bench.mk.

  run.py smoke --bin DIR [--json-dir D]
      every applicable (competitor, workload) once at a tiny size; checks
      that each computed the workload's checksum (the same for every
      competitor), and that jemalloc/mimalloc/tcmalloc really replaced
      malloc. Ends with "bench-smoke: N passed, M failed"; exit 1 on any
      failure.

  run.py full --bin DIR [--runs 5] [--out bench] [--raw DIR] ...
      every cell in a fresh process, interleaved (each round runs all cells
      in a new random order), --runs rounds; then instruction counts (perf
      when `perf stat -e instructions` works here, else callgrind on a
      reduced size); writes OUT/results.md and OUT/results.png and prints
      the table.
"""
import argparse
import concurrent.futures as cf
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

COMPS = ["arena", "arena-marks", "stack", "pool", "pool-unchecked", "pool-heap", "bump", "freelist", "slotmap",
         "glibc", "jemalloc", "mimalloc", "mi-heap", "tcmalloc", "obstack", "talloc", "apr",
         "boost-pool"]
OURS = {"arena", "arena-marks", "stack", "pool", "pool-unchecked", "pool-heap"}
REFS = {"bump", "freelist", "slotmap"}
WORKS = ["frame-scratch", "frames-alt", "arena-new", "pool-churn", "pool-churn-barrier", "entity", "double-free-top",
         "double-free-bottom", "parser-like", "realloc-grow", "small-bump", "sprintf",
         "snprintf", "json", "stack", "mark-rewind", "temp-scope", "temp-nested", "scaling-1e3", "scaling-1e4", "scaling-1e5", "scaling-1e6",
         "scaling-1e7", "scaling-1e8"]
SCALING = [w for w in WORKS if w.startswith("scaling-")]
OP = {
    "frame-scratch": "allocation (10,000 frames x 1,000, 16-256 B, reset per frame)",
    "frames-alt": "allocation (4,000 frames alternating 1,500 and 4,500 allocations, about 200 KB and 600 KB)",
    "arena-new": "zeroed 32-byte node (10,000 frames x 1,000; ours: arena_new, others: alloc + memset)",
    "pool-churn": "free+alloc pair (64 B, 100,000 live, 20 M pairs)",
    "pool-churn-barrier": "free+alloc pair as pool-churn, a compiler barrier between the two",
    "entity": "step (get by handle and move; every 4th: despawn + spawn; 10,000 live 64-byte entities, 20 M steps)",
    "double-free-top": "refused double free of the newest of 10^6 free slots (2 M)",
    "double-free-bottom": "refused double free of the oldest of 10^6 free slots (2 M)",
    "parser-like": "allocation (2 M 32-byte nodes + 2 M strings of 4-25 B, traversed, freed at once)",
    "realloc-grow": "growth step (100,000 arrays grown by doubling 1..256 ints: 9 steps each)",
    "small-bump": "allocation (10 M of 8-64 B, then free all)",
    "sprintf": "formatted string (1 M; ours: arena_sprintf; malloc rows: vasprintf)",
    "snprintf": "formatted string (1 M; snprintf to size, malloc, snprintf)",
    "json": "allocation (parse canada, citm_catalog, twitter x6: nodes + strings, free each doc at once)",
    "stack": "push or pop (20 M; LIFO random walk, 16-512 B, depth <= 64)",
    "mark-rewind": "mark, allocation of 16-128 B written, rewind (20 M)",
    "temp-scope": "temp scope with two allocations (10 M)",
    "temp-nested": "temp scope, an allocation, a nested scope with one, one more (10 M)",
}
for w in SCALING:
    OP[w] = "allocation (16 B, written; N = %s per cycle, then free all; max(N, 10^7) per pass)" % w.split("-")[1]
# the practical limit of each workload, and our row compared with it
LIMIT = {w: ("freelist", w) if w.startswith("pool-churn") else ("bump", w) for w in WORKS}
LIMIT["entity"] = ("slotmap", "entity")
LIMIT["double-free-top"] = LIMIT["double-free-bottom"] = ("pool", "double-free-top")
LIMIT["snprintf"] = ("bump", "sprintf")
PRIMARY = {w: "arena" for w in WORKS}
for w in ("pool-churn", "pool-churn-barrier", "entity", "double-free-top", "double-free-bottom"):
    PRIMARY[w] = "pool"
PRIMARY["stack"] = "stack"
for w in ("mark-rewind", "temp-scope", "temp-nested"):
    PRIMARY[w] = "arena-marks"
EXPECT_MALLOC = {"jemalloc": "libjemalloc", "mimalloc": "libmimalloc", "mi-heap": "libmimalloc",
                 "tcmalloc": "libtcmalloc"}
# rough bytes a scaling-1e8 run needs (16-byte allocations)
SCALING_1E8_BYTES = {"arena": 1.8e9, "bump": 1.8e9}


def bin_path(args, comp):
    return os.path.join(args.bin, "bench_" + comp)


def list_cells(args, full):
    cells = []
    for comp in COMPS:
        exe = bin_path(args, comp)
        if not os.path.exists(exe):
            sys.exit("bench: %s is missing (make bench-bins)" % exe)
        out = subprocess.run([exe, "--list"], capture_output=True, text=True, check=True).stdout
        for w in out.split():
            if not full and w in ("scaling-1e5", "scaling-1e6", "scaling-1e7", "scaling-1e8"):
                continue
            cells.append((comp, w))
    return cells


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            d = {}
            for kv in line.split()[1:]:
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    d[k] = v
                else:
                    d["na"] = True
            return d
    return None


def run_cell(args, comp, work, scale, extra=(), timeout=600, wrap=()):
    cmd = list(wrap) + [bin_path(args, comp), work, scale, "--json-dir", args.json_dir] + list(extra)
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout after %ds" % timeout, time.time() - t
    d = parse_result(p.stdout)
    if p.returncode != 0 or d is None:
        return None, "exit %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-300:]), time.time() - t
    return d, "", time.time() - t


def mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------ smoke

def smoke(args):
    have_json = all(os.path.exists(os.path.join(args.json_dir, n))
                    for n in ("canada.json", "citm_catalog.json", "twitter.json"))
    cells = list_cells(args, full=False)
    todo = [(c, w) for c, w in cells if have_json or w != "json"]
    skipped = len(cells) - len(todo)
    results = {}
    with cf.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        futs = {ex.submit(run_cell, args, c, w, "smoke", (), 120): (c, w) for c, w in todo}
        for f in cf.as_completed(futs):
            results[futs[f]] = f.result()
    passed = failed = 0
    by_work = {}
    for (c, w), (d, err, _) in results.items():
        if d is not None and not d.get("na"):
            by_work.setdefault(w, {})[c] = d["checksum"]
    for c, w in todo:
        d, err, secs = results[(c, w)]
        why = ""
        if d is None:
            why = err
        elif d.get("na"):
            why = "reported n/a but was listed"
        else:
            ref_comp = LIMIT[w][0] if LIMIT[w][1] == w else None
            sums = by_work.get(w, {})
            ref = sums.get(ref_comp) if ref_comp in sums else None
            if ref is None:   # the most common checksum
                vals = list(sums.values())
                ref = max(set(vals), key=vals.count)
            if d["checksum"] != ref:
                why = "checksum %s, expected %s" % (d["checksum"], ref)
            elif int(d.get("ops", "0")) <= 0 or int(d["checksum"], 16) == 0:
                why = "did no work (ops %s, checksum %s)" % (d.get("ops"), d["checksum"])
            elif c in EXPECT_MALLOC and not d.get("malloc", "").startswith(EXPECT_MALLOC[c]):
                why = "malloc resolves to %s, not %s" % (d.get("malloc"), EXPECT_MALLOC[c])
            elif c not in EXPECT_MALLOC and not d.get("malloc", "").startswith("libc"):
                why = "malloc resolves to %s, not glibc" % d.get("malloc")
        if why:
            failed += 1
            print("FAIL %-15s %-13s %s" % (c, w, why))
        else:
            passed += 1
            print("ok   %-15s %-13s checksum %s  %.2fs" % (c, w, d["checksum"], secs))
    if skipped:
        print("skipped %d json cells: no JSON documents in %s" % (skipped, args.json_dir))
    print("%d passed, %d failed" % (passed, failed))
    print("bench-smoke: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


# ------------------------------------------------------------------- full

def perf_works():
    if not shutil.which("perf"):
        return False
    try:
        p = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and "instructions" in f[2]:
            return f[0].strip().isdigit()
    return False


def callgrind_cell(args, comp, work):
    os.makedirs(args.raw, exist_ok=True)
    out = os.path.join(args.raw, "callgrind.%s.%s.out" % (comp, work))
    wrap = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--instr-atstart=no",
            "--callgrind-out-file=" + out]
    d, err, _ = run_cell(args, comp, work, "cg", (), 1800, wrap)
    if d is None:
        return None, (err, 0)
    ir = None
    try:
        with open(out) as f:
            for line in f:
                if line.startswith("totals:"):
                    ir = int(line.split()[1])
    except OSError as e:
        return None, (str(e), 0)
    if ir is None:
        return None, ("no totals in " + out, 0)
    return ir / float(d["ops"]), (out, int(d["ops"]))


def profile(out, ops, top=6):
    """Self instructions per operation of the top functions of a callgrind
    output file, as 'function n.n' strings."""
    if not shutil.which("callgrind_annotate"):
        return []
    try:
        text = subprocess.run(["callgrind_annotate", "--inclusive=no", out], capture_output=True,
                              text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = []
    started = False
    for line in text.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\S+)", line)
        if not m:
            if rows:
                break
            continue
        n = int(m.group(1).replace(",", ""))
        where = m.group(2)
        fn = where.split(":")[-1]
        src = os.path.basename(where.split(":")[0])
        fn = re.sub(r"\.(constprop|isra|part|cold)\.\d+", "", fn).split("'")[0]
        if src.startswith("bench.c") or src.startswith("adapters.h"):
            fn = "[workload] " + fn if src.startswith("bench.c") else "[adapter] " + fn
        elif src in ("arena.h", "pool.h"):
            if fn.startswith("arena") or fn.startswith("pool"):
                fn = "%s (%s)" % (fn, src)
            else:
                fn = "inline %s fast path" % src
        rows.append("%s %.1f" % (fn, n / float(ops)))
        if len(rows) >= top:
            break
    return rows


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info():
    model = sh("lscpu | sed -n 's/^Model name:[ \\t]*//p'") or platform.processor()
    cores = os.cpu_count()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    hyper = sh("lscpu | sed -n 's/^Hypervisor vendor:[ \\t]*//p'")
    caches = sh("lscpu | sed -n 's/^\\(L[123][a-z]* cache\\):[ \\t]*/\\1 /p' | paste -sd, -")
    return {"model": model, "cores": cores, "mem": mem, "hyper": hyper, "caches": caches,
            "kernel": platform.release()}


def fmt_ns(x):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_ratio(x):
    return "-" if x is None else "%.2f" % x


def full(args):
    os.makedirs(args.raw, exist_ok=True)
    started = time.time()
    use_perf = perf_works()
    load_start = sh("cat /proc/loadavg | cut -d' ' -f1-3")
    cells = list_cells(args, full=True)
    if args.works:   # a subset (re-measuring one part); the report shows only it
        cells = [(c, w) for c, w in cells if w in args.works.split(",")]
    avail = mem_available()
    skipped_mem = []
    kept = []
    for c, w in cells:
        if w == "scaling-1e8":
            need = SCALING_1E8_BYTES.get(c, 4e9)
            if avail < need * 1.5 + 2e9:
                skipped_mem.append(c)
                continue
        kept.append((c, w))
    cells = kept
    print("bench: %d cells x %d runs, interleaved; instructions by %s" %
          (len(cells), args.runs, "perf (hardware counter)" if use_perf else "callgrind (reduced size)"))
    samples = {cell: [] for cell in cells}
    errors = {}
    extra = ["--perf"] if use_perf else []
    rawlog = open(os.path.join(args.raw, "runs.txt"), "w")
    for r in range(args.runs):
        order = list(cells)
        random.Random(1000 + r).shuffle(order)
        t = time.time()
        for comp, work in order:
            d, err, _ = run_cell(args, comp, work, args.scale, extra)
            if d is None:
                errors[(comp, work)] = err
                print("  FAIL %s %s: %s" % (comp, work, err))
                continue
            rawlog.write("run=%d %s\n" % (r, " ".join("%s=%s" % kv for kv in d.items())))
            samples[(comp, work)].append(d)
        rawlog.flush()
        print("  round %d/%d: %.0fs" % (r + 1, args.runs, time.time() - t))
        sys.stdout.flush()
    rawlog.close()

    insn, cg_out = {}, {}
    if use_perf:   # cells where the counter could not be read fall back to callgrind
        for cell, ds in samples.items():
            iv = [int(d.get("insn", "-1")) for d in ds]
            if iv and max(iv) > 0:
                insn[cell] = statistics.median(v for v in iv if v > 0) / float(ds[0]["ops"])
    if shutil.which("valgrind"):
        todo = [c for c in cells if c[1] not in ("scaling-1e6", "scaling-1e7", "scaling-1e8")
                and c not in insn]
        t = time.time()
        with cf.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            futs = {ex.submit(callgrind_cell, args, c, w): (c, w) for c, w in todo}
            for f in cf.as_completed(futs):
                v, err = f.result()
                if v is None:
                    print("  callgrind %s %s: %s" % (futs[f] + (err[0],)))
                else:
                    insn[futs[f]] = v
                    cg_out[futs[f]] = err
        if todo:
            print("  callgrind: %d cells, %.0fs" % (len(cg_out), time.time() - t))

    # ---- statistics
    stats = {}
    bad_sums = []
    for cell, ds in samples.items():
        if not ds:
            continue
        ops = float(ds[0]["ops"])
        warm = [float(d["warm_ns"]) / ops for d in ds]
        cold = [float(d["cold_ns"]) / float(d.get("cold_ops", ops)) for d in ds]
        s = {"n": len(ds), "ops": int(ops), "cold_ops": int(ds[0].get("cold_ops", ops)),
             "warm": statistics.median(warm), "wmin": min(warm), "wmax": max(warm),
             "cold": statistics.median(cold), "cmin": min(cold), "cmax": max(cold),
             "rss": statistics.median(int(d["rss_kb"]) for d in ds) / 1024.0,
             "grabs_after": max(int(d["grabs_after"]) for d in ds),
             "grabs_warm": max(int(d["grabs_warm"]) for d in ds),
             "warm_grabs": max(int(d.get("warm_grabs", 0)) for d in ds),
             "cold_short": int(ds[0].get("cold_ops", ops)) != int(ops),
             "checksums": sorted(set(d["checksum"] for d in ds)),
             "malloc": ds[0].get("malloc", "")}
        s["insn"] = insn.get(cell)
        stats[cell] = s
    # every competitor of a workload must agree on the checksum
    for w in WORKS:
        sums = {}
        for (c, ww), s in stats.items():
            if ww == w:
                for x in s["checksums"]:
                    sums.setdefault(x, []).append(c)
        if len(sums) > 1:
            bad_sums.append((w, sums))
    for c in EXPECT_MALLOC:
        for (cc, w), s in stats.items():
            if cc == c and not s["malloc"].startswith(EXPECT_MALLOC[c]):
                bad_sums.append((w, {"malloc of %s is %s" % (c, s["malloc"]): [c]}))

    def get(comp, work):
        return stats.get((comp, work))

    def limit_of(work):
        lc, lw = LIMIT[work]
        return get(lc, lw)

    def primary_of(work):
        if work == "snprintf":
            return get("arena", "sprintf")
        return get(PRIMARY[work], work)

    info = machine_info()
    load_end = sh("cat /proc/loadavg | cut -d' ' -f1-3")
    now = datetime.datetime.now().astimezone()
    elapsed = time.time() - started
    md = []
    P = md.append
    P("# Benchmark results")
    P("")
    P("Generated by `make bench` (bench/run.py) on %s; do not edit by hand." % now.strftime("%Y-%m-%d %H:%M %Z"))
    P("")
    P("## Machine and build")
    P("")
    P("- CPU: %s, %s cores%s; %s" % (info["model"], info["cores"],
                                     " (%s guest)" % info["hyper"] if info["hyper"] else "", info["caches"]))
    P("- memory: %s; kernel %s" % (info["mem"], info["kernel"]))
    P("- compilers: `%s` (%s), `%s` for the Boost.Pool row" % (
        args.cc, sh("%s --version | head -1" % args.cc), args.cxx))
    P("- flags: C `%s`, C++ `%s`; our implementation in its own translation unit "
      "(bench/impl.c), so only the header's `static inline` fast paths inline, as in a user's program" %
      (args.cflags, args.cxxflags))
    P("- libraries: %s" % ", ".join(
        "%s %s" % (p, sh("dpkg-query -W -f='${Version}' %s 2>/dev/null" % p) or "?")
        for p in ("libc6", "libjemalloc-dev", "libmimalloc-dev", "libgoogle-perftools-dev",
                  "libtalloc-dev", "libapr1-dev", "libboost-dev", "libstb-dev")))
    P("- runs: every cell (allocator x workload) %d times, each a fresh process; the rounds are "
      "interleaved (all cells once per round, in a new random order each round), so drift and "
      "other load on this shared 2-core machine hit all alike. Total wall time of `make bench`: %.0f s." %
      (args.runs, elapsed))
    P("- machine load (1/5/15-min load average, other work on the machine included): %s at the start, "
      "%s at the end; with 2 cores, a load above 1 means another process competed for a core during "
      "some runs, so the min-max spreads are wide: read the medians and the instruction counts." %
      (load_start, load_end))
    P("- **warm vs cold**: every process runs the workload twice. The first (*cold*) pass touches every "
      "page for the first time; the second (*warm*) pass follows the allocator's own free-all, with whatever "
      "memory it chose to keep, and is the one measured. **The tables and ratios are the warm pass** "
      "(median over the runs, min-max in brackets). For parser-like, realloc-grow, small-bump and scaling "
      "(hundreds of MB) the cold pass is the whole workload and its median is shown beside the warm one, "
      "because page faults dominate it on this machine (a KVM guest: first touches cost microseconds). "
      "For frame-scratch, pool-churn, stack, sprintf, snprintf and json (a few MB, reused) the first pass is a "
      "warm-up at a tenth of the size, shown as such. *Source calls in warm pass*: blocks our allocator "
      "took from malloc during the measured pass (`grab_count`), 0 when it kept what it needed.")
    P("- instructions per operation: %s" % (
        "the hardware counter (`perf stat -e instructions` works here), warm pass, median" if use_perf else
        "`perf stat -e instructions` is not supported on this machine (a KVM guest without a PMU), so "
        "they come from `valgrind --tool=callgrind` on a 1/100 size run (the warm pass only, or for "
        "pool-churn only its free+alloc pairs: --instr-atstart=no --collect-atstart=no and client requests "
        "around that window; scaling up to 10^5). Instruction counts do not move "
        "with machine load: where wall times are within noise, trust these."))
    P("- peak RSS: `getrusage(RUSAGE_SELF).ru_maxrss` of the whole process (both passes, plus the "
      "harness's pointer arrays, the same for every row of a workload that frees one by one).")
    P("- checksums: every workload's result is computed from values read back out of the allocated "
      "memory and must be identical for every allocator: %s." %
      ("**MISMATCH: %s**" % bad_sums if bad_sums else "all agree"))
    if skipped_mem:
        P("- scaling-1e8 skipped for lack of memory: %s" % ", ".join(skipped_mem))
    if errors:
        P("- **failed cells**: %s" % "; ".join("%s/%s: %s" % (c, w, e) for (c, w), e in errors.items()))
    P("")
    P("Rows: ours are **arena** (`arena_alloc`, `arena_reset`), **arena-marks** (`arena_mark`/"
      "`arena_rewind` per frame or per push), **stack** (`ArenaStack`), **pool** (`pool_alloc`/"
      "`pool_free`, checked), **pool-unchecked** (`-DPOOL_UNCHECKED`). The limit: **bump** (inline "
      "bump pointer with a block-end compare, blocks kept across resets) and **freelist** (inline "
      "singly linked free list). glibc, jemalloc, mimalloc, tcmalloc: malloc/free (vasprintf for "
      "sprintf), replacing malloc process-wide; **mi-heap**: `mi_heap_malloc` + `mi_heap_destroy` for "
      "bulk free; **obstack** (64 KiB chunks, `obstack_free` to a base for bulk free, obstack_printf, "
      "the growing-object API for realloc-grow); **talloc** (`talloc_size`, `talloc_free_children` for "
      "bulk, `talloc_vasprintf`); **apr** (`apr_palloc`, `apr_pool_clear`, `apr_pvsprintf`, alloc+copy "
      "for realloc); **boost-pool** (`boost::pool<>` malloc/free, `purge_memory` for bulk; "
      "`object_pool` is left out because its free keeps the list ordered, O(live) per call). Allocators "
      "with a bulk free use it; the others free every object. A workload an allocator cannot do is n/a.")
    P("")

    # ---- targets
    def ratio(a, b):
        return a["warm"] / b["warm"] if a and b else None

    def iratio(a, b):
        return a["insn"] / b["insn"] if a and b and a.get("insn") and b.get("insn") else None

    targets = []
    def best_peer(w):
        peers = [(ratio(get(c, w), limit_of(w)), c) for c in COMPS
                 if c not in OURS and c not in REFS and get(c, w)]
        peers = [p for p in peers if p[0] is not None]
        return min(peers) if peers else (None, "-")

    for w in ("frame-scratch", "parser-like", "realloc-grow", "small-bump"):
        a, lim = get("arena", w), limit_of(w)
        r, ir = ratio(a, lim), iratio(a, lim)
        br, bc = best_peer(w)
        targets.append(("arena <= 1.05x the inline bump on %s" % w, r is not None and r <= 1.05,
                        "%s x by time, %s x by instructions (warm %s ns vs %s ns; cold %s x); best other "
                        "allocator: %s at %s x" % (
                            fmt_ratio(r), fmt_ratio(ir), fmt_ns(a and a["warm"]), fmt_ns(lim and lim["warm"]),
                            fmt_ratio(a["cold"] / lim["cold"] if a and lim else None), bc, fmt_ratio(br))))
    for w in ("pool-churn", "pool-churn-barrier"):
        pu, pc, fl = get("pool-unchecked", w), get("pool", w), get("freelist", w)
        r, ir = ratio(pu, fl), iratio(pu, fl)
        targets.append(("pool <= 1.1x the inline free list with POOL_UNCHECKED (%s)" % w,
                        r is not None and r <= 1.1, "%s x by time, %s x by instructions" % (fmt_ratio(r), fmt_ratio(ir))))
        r, ir = ratio(pc, fl), iratio(pc, fl)
        targets.append(("pool <= 1.3x the inline free list with checks on (%s)" % w,
                        r is not None and r <= 1.3, "%s x by time, %s x by instructions" % (fmt_ratio(r), fmt_ratio(ir))))
    for w in ("pool-churn", "pool-churn-barrier", "parser-like"):
        p, b = get("pool", w), get("boost-pool", w)
        r, ir = ratio(p, b), iratio(p, b)
        targets.append(("pool never behind Boost.Pool (%s)" % w, r is not None and r <= 1.0,
                        "pool %s ns vs boost %s ns: %s x by time, %s x by instructions" % (
                            fmt_ns(p and p["warm"]), fmt_ns(b and b["warm"]), fmt_ratio(r), fmt_ratio(ir))))
    p, fl = get("pool", "parser-like"), get("freelist", "parser-like")
    r, ir = ratio(p, fl), iratio(p, fl)
    targets.append(("pool <= 1.2x the inline free list on parser-like (fresh slots)", r is not None and r <= 1.2,
                    "%s x by time, %s x by instructions" % (fmt_ratio(r), fmt_ratio(ir))))
    p, sm = get("pool", "entity"), get("slotmap", "entity")
    r, ir = ratio(p, sm), iratio(p, sm)
    targets.append(("entity loop on PoolHandle no slower than a hand-written slot map", r is not None and r <= 1.0,
                    "%s x by time, %s x by instructions" % (fmt_ratio(r), fmt_ratio(ir))))
    top, bot = get("pool", "double-free-top"), get("pool", "double-free-bottom")
    r, ir = ratio(bot, top), iratio(bot, top)
    targets.append(("a double free at the bottom of 10^6 free slots costs what one at the top costs",
                    ir is not None and ir <= 1.05, "bottom/top: %s x by instructions (%s vs %s per call), %s x by time" % (
                        fmt_ratio(ir), "%.0f" % bot["insn"] if bot and bot.get("insn") else "-",
                        "%.0f" % top["insn"] if top and top.get("insn") else "-", fmt_ratio(r))))
    a, g = get("arena", "sprintf"), get("glibc", "sprintf")
    sp = g["warm"] / a["warm"] if a and g else None
    targets.append(("arena_sprintf >= 2x faster than vasprintf", sp is not None and sp >= 2.0,
                    "%s x faster (%s vs %s ns per string)" % (fmt_ratio(sp), fmt_ns(a and a["warm"]), fmt_ns(g and g["warm"]))))
    a = get("arena", "frame-scratch")
    frames = (a["ops"] + a["cold_ops"]) // 1000 - 2 if a else 0
    targets.append(("frame-scratch: zero source calls after warm-up", a is not None and a["grabs_after"] == 0,
                    "arena_stats().grab_count: %s after frame 2 of the first pass, +%s over the remaining "
                    "%s frames (warm-up and measured passes)" % (a and a["grabs_warm"], a and a["grabs_after"], frames)))
    a = get("arena", "frames-alt")
    targets.append(("frames-alt: zero source calls after warm-up", a is not None and a["grabs_after"] == 0,
                    "arena_stats().grab_count: +%s after frame 2" % (a and a["grabs_after"])))
    for w, who, limit in (("arena-new", "arena", 1.15), ("stack", "stack", 1.3), ("json", "arena", 1.05)):
        a, lim = get(who, w), limit_of(w)
        r, ir = ratio(a, lim), iratio(a, lim)
        targets.append(("%s <= %sx the inline bump on %s" % (who, limit, w), r is not None and r <= limit,
                        "%s x by time, %s x by instructions" % (fmt_ratio(r), fmt_ratio(ir))))
    st = get("stack", "stack")
    mallocs = [(ratio(st, get(c, "stack")), c) for c in COMPS if c not in OURS and c not in REFS and get(c, "stack")]
    mallocs = [m for m in mallocs if m[0] is not None]
    worst = max(mallocs) if mallocs else (None, "-")
    targets.append(("stack faster than every other allocator on stack", worst[0] is not None and worst[0] < 1.0,
                    "slowest margin: %s x %s" % (fmt_ratio(worst[0]), worst[1])))
    a, g = get("arena", "parser-like"), get("glibc", "parser-like")
    targets.append(("peak RSS on parser-like no higher than glibc malloc's", a is not None and g is not None and a["rss"] <= g["rss"],
                    "arena %.0f MiB vs glibc %.0f MiB" % (a["rss"] if a else 0, g["rss"] if g else 0)))
    # bumpalo-class: best competitor ratio
    P("## Targets (issue #4)")
    P("")
    P("| target | | figure |")
    P("|---|---|---|")
    for name, ok, fig in targets:
        P("| %s | %s | %s |" % (name, "**met**" if ok else "**missed**", fig))
    P("")
    P("Source calls of ours on frame-scratch after warm-up (`grab_count` growth after frame 2): %s." %
      ", ".join("%s %s" % (c, get(c, "frame-scratch")["grabs_after"]) for c in ("arena", "arena-marks", "stack")
                if get(c, "frame-scratch")))
    P("")

    # ---- ratio matrix
    P("## Ours against the limit and against each competitor (warm, by time)")
    P("")
    P("Each cell: our row's ns/op divided by that allocator's (below 1: ours is faster). Ours is "
      "**arena** except pool-churn (**pool**, checked) and stack (**stack**); snprintf compares "
      "arena_sprintf. In brackets: the same ratio by instructions.")
    P("")
    cols = [c for c in COMPS if c not in (set(["arena"]))]
    P("| workload | ours | " + " | ".join(cols) + " |")
    P("|---|---|" + "---|" * len(cols))
    for w in WORKS:
        o = primary_of(w)
        if not o:
            continue
        row = []
        for c in cols:
            s = get(c, w) if not (w == "snprintf" and c in REFS) else get(c, "sprintf")
            if s is None or (c == PRIMARY[w] and w != "snprintf"):
                row.append("n/a" if s is None else "=")
                continue
            r, ir = ratio(o, s), iratio(o, s)
            txt = fmt_ratio(r) + (" (%s)" % fmt_ratio(ir) if ir else "")
            if (c, w if w != "snprintf" else "sprintf") == LIMIT[w]:
                txt = "**" + txt + "**"
            row.append(txt)
        P("| %s | %s | %s |" % (w, PRIMARY[w] if w != "snprintf" else "arena (sprintf)", " | ".join(row)))
    P("")
    P("Bold: the limit. n/a: the allocator cannot run that workload.")
    P("")

    # ---- per workload tables
    P("## Tables")
    P("")
    for w in WORKS:
        rows = [(c, get(c, w)) for c in COMPS if get(c, w)]
        if not rows:
            continue
        lim = limit_of(w)
        o = primary_of(w)
        P("### %s" % w)
        P("")
        P("ns per %s." % OP[w])
        P("")
        short = any(s["cold_short"] for c, s in rows)
        P("| allocator | warm ns/op median (min-max) | %s ns/op | x limit | ours / this | peak RSS MiB | instr/op | source calls in warm pass |" %
          ("warm-up (1/10 size)" if short else "cold"))
        P("|---|---|---|---|---|---|---|---|")
        for c, s in sorted(rows, key=lambda cs: cs[1]["warm"]):
            name = "**%s**" % c if c in OURS else ("*%s* (limit)" % c if (c, w) == LIMIT[w] else c)
            P("| %s | %s (%s-%s) | %s | %s | %s | %.0f | %s | %s |" % (
                name, fmt_ns(s["warm"]), fmt_ns(s["wmin"]), fmt_ns(s["wmax"]), fmt_ns(s["cold"]),
                fmt_ratio(ratio(s, lim)), fmt_ratio(ratio(o, s)), s["rss"],
                "%.1f" % s["insn"] if s.get("insn") else "-",
                s["warm_grabs"] if c in OURS else ""))
        na = [c for c in COMPS if not get(c, w) and not (w in SCALING and c in skipped_mem and w == "scaling-1e8")]
        if na:
            P("")
            P("n/a: %s." % ", ".join(na))
        P("")

    # ---- scaling summary
    P("### scaling: ns per allocation against N (warm)")
    P("")
    sc_comps = [c for c in COMPS if any(get(c, w) for w in SCALING)]
    P("| N | " + " | ".join(sc_comps) + " |")
    P("|---|" + "---|" * len(sc_comps))
    for w in SCALING:
        P("| 10^%s | %s |" % (w[-1], " | ".join(
            ("%s / %s" % (fmt_ns(get(c, w)["warm"]), fmt_ns(get(c, w)["cold"])) if get(c, w) else "-")
            for c in sc_comps)))
    P("")
    P("Each cell: warm / cold ns per allocation.")
    P("")
    prof_cells = [(c, w) for w in WORKS for c in COMPS
                  if (c, w) in cg_out and (c in OURS or c in REFS) and w not in SCALING]
    if prof_cells:
        P("## Where our instructions go")
        P("")
        P("Self instructions per operation of the top functions (callgrind, the same reduced runs as "
          "instr/op above), ours beside the limit. `[workload]` is the benchmark's own loop (the same "
          "for every row); names with (arena.h) / (pool.h) are our out-of-line functions; inline fast "
          "paths are counted inside the workload's function.")
        P("")
        P("| workload | allocator | instr/op | top functions (self instr/op) |")
        P("|---|---|---|---|")
        for c, w in prof_cells:
            st = stats.get((c, w))
            if not st:
                continue
            rows = profile(cg_out[(c, w)][0], float(cg_out[(c, w)][1]))
            P("| %s | %s | %s | %s |" % (w, c, "%.1f" % st["insn"] if st.get("insn") else "-",
                                         ", ".join(rows)))
        P("")
    P("## Figure")
    P("")
    P("![ns/op per workload per allocator](results.png)")
    P("")

    # ---- plot
    os.makedirs(args.out, exist_ok=True)
    plot_ok = plot(args, stats, skipped_mem)
    if not plot_ok:
        P("(gnuplot was not available: no figure)")
    out_md = os.path.join(args.out, "results.md")
    kept = ""   # the section written from `make bench-snapshot` is carried over
    if os.path.exists(out_md):
        old = open(out_md).read()
        if "\n## Snapshots" in old:
            kept = old[old.index("\n## Snapshots"):]
    with open(out_md, "w") as f:
        f.write("\n".join(md) + "\n" + kept)
    with open(os.path.join(args.raw, "stats.json"), "w") as f:
        json.dump({"%s|%s" % k: v for k, v in stats.items()}, f, indent=1)

    # ---- console table
    print()
    print("%-14s %-15s %12s %10s %8s %8s %8s %8s" % ("workload", "allocator", "warm ns/op", "cold", "xlimit",
                                                   "ours/it", "RSS MiB", "instr/op"))
    for w in WORKS:
        lim, o = limit_of(w), primary_of(w)
        for c in COMPS:
            s = get(c, w)
            if not s:
                continue
            print("%-14s %-15s %12s %10s %8s %8s %8.0f %8s" % (
                w, c, fmt_ns(s["warm"]), fmt_ns(s["cold"]), fmt_ratio(ratio(s, lim)),
                fmt_ratio(ratio(o, s)), s["rss"], "%.1f" % s["insn"] if s.get("insn") else "-"))
    print()
    for name, ok, fig in targets:
        print("%-8s %s: %s" % ("MET" if ok else "MISSED", name, fig))
    print("\nwrote %s/results.md%s (%.0f s)" % (args.out, " and results.png" if plot_ok else "", elapsed))
    if bad_sums:
        print("bench: CHECKSUM/MALLOC MISMATCH: %s" % bad_sums)
        return 1
    return 1 if errors else 0


PALETTE = {"arena": "#d62728", "arena-marks": "#ff7f0e", "stack": "#e377c2", "pool": "#8c564b",
           "pool-unchecked": "#bcbd22", "pool-heap": "#7f7f7f", "bump": "#000000", "freelist": "#555555", "slotmap": "#999999", "glibc": "#1f77b4",
           "jemalloc": "#17becf", "mimalloc": "#2ca02c", "mi-heap": "#98df8a", "tcmalloc": "#9467bd",
           "obstack": "#c5b0d5", "talloc": "#aec7e8", "apr": "#ffbb78", "boost-pool": "#c49c94"}


def plot(args, stats, skipped_mem):
    """One bar chart per workload (only the allocators that run it, fastest
    first, min-max as error bars, log scale) and the scaling curves."""
    if not shutil.which("gnuplot"):
        return False
    works = [w for w in WORKS if w not in SCALING]
    term = "pngcairo size 1800,1500 font 'DejaVu Sans,10'"
    if "pngcairo" not in sh("gnuplot -e 'set terminal' 2>&1 | grep -o pngcairo | head -1"):
        term = "png size 1800,1500"
    out = os.path.join(args.out, "results.png")
    gp = []
    g = gp.append
    g("set terminal %s" % term)
    g("set output '%s'" % out)
    g("set multiplot layout 4,3 title 'ns per operation, warm pass: median of %d fresh-process runs, "
      "bars min-max (log scale, lower is better; ours in red/orange/pink/brown, the limit in black)' "
      "font ',13'" % args.runs)
    g("set style fill solid 0.85 border -1")
    g("set boxwidth 0.8")
    g("set logscale y")
    g("set grid ytics")
    g("set key off")
    g("set xtics rotate by -45 font ',9' nomirror")
    g("set ytics font ',9'")
    g("set lmargin 7; set bmargin 6")
    for w in works:
        rows = sorted([(stats[(c, w)]["warm"], c) for c in COMPS if (c, w) in stats])
        if not rows:
            continue
        dat = os.path.join(args.raw, "plot_%s.dat" % w)
        with open(dat, "w") as f:
            for i, (v, c) in enumerate(rows):
                st = stats[(c, w)]
                f.write("%d %s %.5g %.5g %.5g %d\n" % (i, c, v, st["wmin"], st["wmax"],
                                                      int(PALETTE[c][1:], 16)))
        g("set title '%s' font ',11'" % w)
        g("set xrange [-0.7:%f]" % (len(rows) - 0.3))
        g("plot '%s' using 1:3:6:xtic(2) with boxes lc rgb variable, '' using 1:3:4:5 with yerrorbars "
          "lc rgb '#444444' pt 0" % dat)
    sc_comps = [c for c in COMPS if any((c, w) in stats for w in SCALING)]
    sdat = os.path.join(args.raw, "plot_scaling.dat")
    with open(sdat, "w") as f:
        for w in SCALING:
            f.write("1e%s " % w[-1] + " ".join(
                ("%.5g" % stats[(c, w)]["warm"]) if (c, w) in stats else "NaN" for c in sc_comps) + " " +
                " ".join(("%.5g" % stats[(c, w)]["cold"]) if (c, w) in stats else "NaN" for c in sc_comps) + "\n")
    g("unset xrange")
    g("set logscale x")
    g("set xtics rotate by 0 font ',9'")
    g("set format x '10^{%L}'")
    g("set datafile missing 'NaN'")
    g("set key top left font ',9'")
    g("set title 'scaling: ns per 16-byte allocation vs N (solid warm, dashed cold)' font ',11'")
    plots = []
    n = len(sc_comps)
    for i, c in enumerate(sc_comps):
        plots.append("'%s' using 1:%d title '%s' with linespoints lw 2 pt 7 lc rgb '%s'" % (sdat, i + 2, c, PALETTE[c]))
        plots.append("'%s' using 1:%d notitle with linespoints lw 1 dt 2 pt 6 lc rgb '%s'" % (sdat, n + i + 2, PALETTE[c]))
    g("plot " + ", \\\n  ".join(plots))
    g("unset multiplot")
    script = os.path.join(args.raw, "plot.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    p = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if p.returncode != 0:
        print("gnuplot failed: " + p.stderr[-500:])
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["smoke", "full"])
    ap.add_argument("--bin", default="build/bench")
    ap.add_argument("--json-dir", default="../shared/data/json")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default="bench")
    ap.add_argument("--raw", default="build/bench/raw")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--cxxflags", default="")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--cxx", default="c++")
    ap.add_argument("--works", default="", help="comma-separated workloads (default: all)")
    ap.add_argument("--scale", default="full", help=argparse.SUPPRESS)   # testing the report only
    args = ap.parse_args()
    if args.mode == "smoke":
        sys.exit(smoke(args))
    if args.runs < 5:
        print("bench: note: fewer than 5 runs per cell (--runs %d)" % args.runs)
    sys.exit(full(args))


if __name__ == "__main__":
    main()
