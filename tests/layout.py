#!/usr/bin/env python3
"""Where things are in a header, for closing notes and reviews:
   python3 tests/layout.py arena.h [N]
prints the line count, every section ("/* ---- name" or "/* ==== name")
with its line range, and the N (default 10) longest functions, counted
from the opening line of their definition to their closing brace."""
import re
import sys


def code_lines(lines):
    """Each line with comments and string/char literals blanked out."""
    in_comment = False
    for line in lines:
        out, j = "", 0
        while j < len(line):
            if in_comment:
                k = line.find("*/", j)
                if k < 0:
                    break
                in_comment, j = False, k + 2
            elif line.startswith("/*", j):
                in_comment, j = True, j + 2
            elif line.startswith("//", j):
                break
            elif line[j] in "\"'":
                q, j = line[j], j + 1
                while j < len(line) and line[j] != q:
                    j += 2 if line[j] == "\\" else 1
                out, j = out + q + q, j + 1
            else:
                out, j = out + line[j], j + 1
        yield out


def functions(lines):
    """(length, name, first line) of every top-level function definition."""
    sig = re.compile(r"^[A-Za-z_].*?\b([A-Za-z_]\w*)\s*\([^;]*$")
    found, depth, pending, start = [], 0, None, None
    for i, line in enumerate(code_lines(lines)):
        if line.lstrip().startswith("#"):
            continue
        if depth == 0:
            m = sig.match(line)
            if m and m.group(1) not in ("if", "while", "for", "switch", "return", "sizeof"):
                pending = (m.group(1), i)
            elif pending and line.rstrip().endswith(";"):
                pending = None
        for c in line:
            if c == "{":
                if depth == 0 and pending:
                    start = pending
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0 and start:
                    found.append((i - start[1] + 1, start[0], start[1] + 1))
                    start = pending = None
    return found


def main():
    path, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
    lines = open(path).read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    heads = [(i + 1, m.group(1).strip(" -=*/")) for i, l in enumerate(lines)
             for m in [re.match(r"^/\* (?:----|====) (.*)", l)] if m]
    print("%s: %d lines" % (path, len(lines)))
    for k, (ln, name) in enumerate(heads):
        end = heads[k + 1][0] - 1 if k + 1 < len(heads) else len(lines)
        print("  %5d-%-5d %4d  %s" % (ln, end, end - ln + 1, name[:64]))
    funcs = sorted(functions(lines), reverse=True)
    sizes = sorted(f[0] for f in funcs)
    print("%d functions, median %d lines; the longest:" % (len(funcs), sizes[len(sizes) // 2] if sizes else 0))
    for n, name, first in funcs[:top]:
        print("  %4d  %-34s line %d" % (n, name, first))


main()
