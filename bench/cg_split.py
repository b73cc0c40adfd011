#!/usr/bin/env python3
"""cg_split.py MiB SNAP SNAP0 MEMCPY MEMCPY0 - instruction counts of two
snapshot+restore passes and of two memcpy out+back passes (callgrind output
files; the *0 runs do the same setup and no pass), split into what libc's
memcpy/memmove ran and everything else. memcpy's own count depends on the
size of each copy (glibc picks its loop by size), not only on the bytes:
the rest is what the library adds."""
import re
import subprocess
import sys


def split(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    total = copy = 0
    for line in out.splitlines():
        if line.startswith("-- Auto-annotated"):   # the function list is over
            break
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(\S.*)", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in m.group(2):
            total = n
        elif re.search(r"mem(cpy|move)", m.group(2)):
            copy += n
    return total, copy


mib = sys.argv[1]
(st, sc), (s0, s0c), (mt, mc), (m0, m0c) = (split(p) for p in sys.argv[2:6])
snap_copy, snap_rest = sc - s0c, (st - sc) - (s0 - s0c)
mem_copy, mem_rest = mc - m0c, (mt - mc) - (m0 - m0c)
print("%3s MiB, 2 passes: snapshot+restore %d instructions (memcpy %d, the rest %d); "
      "memcpy out+back %d (memcpy %d, the rest %d); ratio %.2fx, outside memcpy +%d per pass"
      % (mib, snap_copy + snap_rest, snap_copy, snap_rest, mem_copy + mem_rest, mem_copy, mem_rest,
         (snap_copy + snap_rest) / max(1, mem_copy + mem_rest), (snap_rest - mem_rest) // 2))
if len(sys.argv) > 7:   # BLOCKS BLOCKS0: the same bytes memcpy'd block by block
    (bt, bc), (b0, b0c) = (split(p) for p in sys.argv[6:8])
    blk = (bt - b0)
    print("%3s MiB, 2 passes: memcpy block by block out+back %d instructions (memcpy %d); "
          "snapshot+restore against it %.4fx (+%d per pass)"
          % (mib, blk, bc - b0c, (snap_copy + snap_rest) / max(1, blk),
             ((snap_copy + snap_rest) - blk) // 2))
