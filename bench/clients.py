#!/usr/bin/env python3
"""bench/clients.py - `make bench-clients`: Lua, expat, SQLite and stb_ds
(tests/clients) on glibc malloc, mimalloc, a mimalloc heap (mi_heap_destroy
at the end) and a PoolHeap (pool_heap_release at the end).

For each client x allocator: wall time (median of fresh interleaved
processes), peak RSS (the largest of those runs) and instructions of the
whole process under callgrind (stable on a loaded machine). Every
allocator must give the same digest. Writes bench/clients_results.md."""
import argparse
import os
import re
import statistics
import subprocess
import sys

COMPS = ["glibc", "mimalloc", "mi_heap", "pool_heap"]
WORKS = ["lua", "expat", "sqlite", "stbds"]
WHAT = {
    "lua": "tables, closures, string building, GC cycles (Lua 5.4, lua_newstate hook)",
    "expat": "a generated XML document parsed in 64 KiB chunks (XML_ParserCreate_MM)",
    "sqlite": "in-memory table filled, indexed, queried, updated (SQLITE_CONFIG_MALLOC)",
    "stbds": "frame loop: entity array, id and name hash maps, per-frame arrays (STBDS_REALLOC)",
}


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"digest=(\w+) ns=(\d+) rss_kb=(\d+)", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("bench-clients: %s failed: %s" % (" ".join(cmd), (p.stderr or p.stdout)[-300:]))
    return m.group(1), int(m.group(2)), int(m.group(3))


def instructions(binary, work, scale, raw):
    out = os.path.join(raw, "callgrind.clients.%s.%s.out" % (os.path.basename(binary), work))
    run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, binary, work, str(scale)])
    with open(out) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    sys.exit("bench-clients: no totals in " + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=int, default=20)
    ap.add_argument("--cg-scale", type=int, default=2)
    ap.add_argument("--out", default="bench/clients_results.md")
    args = ap.parse_args()
    raw = os.path.join(args.bin, "raw")
    os.makedirs(raw, exist_ok=True)
    res = {}
    for w in WORKS:
        times = {c: [] for c in COMPS}
        rss = {c: 0 for c in COMPS}
        digests = set()
        for _ in range(args.runs):
            for c in COMPS:
                d, ns, kb = run([os.path.join(args.bin, "clients_" + c), w, str(args.scale)])
                digests.add(d)
                times[c].append(ns)
                rss[c] = max(rss[c], kb)
        if len(digests) != 1:
            sys.exit("bench-clients: %s gives different results: %s" % (w, sorted(digests)))
        for c in COMPS:
            ir = instructions(os.path.join(args.bin, "clients_" + c), w, args.cg_scale, raw)
            res[(w, c)] = (statistics.median(times[c]), rss[c], ir)
            print("%-7s %-10s %8.1f ms %7d KiB %14d instr" % (w, c, res[(w, c)][0] / 1e6, rss[c], ir))
    lines = ["# Real clients on PoolHeap (make bench-clients)", "",
             "Each client through its own allocator hooks, the same work on every allocator "
             "(identical digests checked). Time: median of %d fresh processes at scale %d, "
             "interleaved, on a shared 2-core VM (noisy); peak RSS: the largest of those runs, "
             "whole process; instructions: callgrind, whole process (the client's own work "
             "included), at scale %d. Ratios are pool-heap / other." % (args.runs, args.scale, args.cg_scale), ""]
    for w in WORKS:
        lines += ["## %s: %s" % (w, WHAT[w]), "",
                  "| allocator | time ms | peak RSS KiB | instructions | pool-heap time | pool-heap instr | pool-heap RSS |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        ph = res[(w, "pool_heap")]
        for c in COMPS:
            t, kb, ir = res[(w, c)]
            lines.append("| %s | %.1f | %d | %d | %.2fx | %.3fx | %.2fx |" %
                         (c.replace("_", "-"), t / 1e6, kb, ir, ph[0] / t, ph[2] / float(ir), ph[1] / float(kb)))
        lines.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("wrote " + args.out)


if __name__ == "__main__":
    main()
