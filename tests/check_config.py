#!/usr/bin/env python3
"""The options of arena.h and pool.h, three ways: the CONFIGURATION list of
each header's doc comment (with its scope: every file / implementation),
the README's table, and the code (every default in the one block after
the doc comment); and the version on each header's first line. Prints
each disagreement; exit status 1 if any."""
import re
import sys

OPT = re.compile(r"\b((?:ARENA|POOL)_[A-Z][A-Z0-9_]*)")
SKIP = {"ARENA_H", "POOL_H", "ARENA_IMPLEMENTATION", "POOL_IMPLEMENTATION", "ARENA_DEF", "POOL_DEF"}


def doc_options(text):
    """{option: scope} from the CONFIGURATION part of the doc comment."""
    doc = text[:text.index("*/")]
    part = doc[doc.index("CONFIGURATION"):]
    part = re.split(r"\n\n   [A-Z]", part)[0]
    opts, scope = {}, None
    for line in part.splitlines():
        if "Read by every file" in line:
            scope = "every file"
        elif "Read only by the file" in line:
            scope = "implementation"
        elif re.match(r"       [A-Z]", line):
            for m in OPT.findall(line.strip().split("  ")[0]):
                opts[m] = scope
    return opts


def code_options(text):
    """Options the code reads, and the defaults written outside the block."""
    code = text[text.index("*/"):]
    read = set(re.findall(r"#\s*(?:ifn?def|if|elif)\b.*", code))
    names = {m for line in read for m in OPT.findall(line)} - SKIP
    names = {n for n in names if "__" not in n and not n.startswith(("ARENA_VERSION", "ARENA_ERR", "ARENA_OK"))}
    start = code.find("==== CONFIGURATION")
    end = code.find("#include", start) if start >= 0 else -1
    defaults = re.findall(r"#ifndef ((?:ARENA|POOL)_\w+)\n#define \1\b", code)
    outside = [d for d in set(defaults) - SKIP if "__" not in d and code.find("#ifndef %s\n#define %s" % (d, d)) not in range(start, end)]
    return names, outside


def readme_options(text):
    section = text[text.index("## Configuration macros"):]
    table = section[section.index("\n|"):]
    rows = [l for l in table[:table.index("\n\n")].splitlines() if l.startswith("| `")]
    opts = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for m in OPT.findall(cells[0]):
            opts[m] = "every file" if cells[1].startswith("every file") else cells[1]
    return opts


def main():
    bad = []
    readme = readme_options(open("README.md").read())
    documented = {}
    for header in ("arena.h", "pool.h"):
        text = open(header).read()
        doc = doc_options(text)
        documented.update(doc)
        names, outside = code_options(text)
        for n in sorted(names - set(doc)):
            if not (header == "pool.h" and n.startswith("ARENA_")):
                bad.append("%s: the code reads %s, the doc comment does not list it" % (header, n))
        for n in sorted(set(doc) - names):
            if n not in text[text.index("*/"):]:
                bad.append("%s: %s is documented but never read" % (header, n))
        for n in sorted(outside):
            bad.append("%s: the default of %s is outside the configuration block" % (header, n))
    for n in sorted(set(documented) | set(readme)):
        if n not in readme:
            bad.append("README: no row for %s" % n)
        elif n not in documented:
            bad.append("README: %s has a row but no header documents it" % n)
        elif readme[n] != documented[n]:
            bad.append("%s: scope '%s' in the header, '%s' in the README" % (n, documented[n], readme[n]))
    version = re.search(r'#define ARENA_VERSION_STRING "([^"]+)"', open("arena.h").read()).group(1)
    for header in ("arena.h", "pool.h"):
        if "%s v%s " % (header, version) not in open(header).readline():
            bad.append("%s: the first line does not give the version %s" % (header, version))
    for b in bad:
        print("check_config:", b)
    print("check_config: %d options, %s" % (len(documented), "agree" if not bad else "%d disagreements" % len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
