#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every header compiles on its own (STYLE.md, rule 4): each tracked .h is compiled
alone, as the only include of an empty translation unit, with the flags that
meson gives a source file of the same folder (compile_commands.json), so a header
that leans on what its includer happened to include first fails here.

usage: check.py SOURCE_ROOT BUILD_DIR"""

import json
import os
import shlex
import subprocess
import sys


def flags_for(cmd):
    """The compile command's flags, minus what names its own input and output."""
    args = shlex.split(cmd)
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MQ", "-c"):
            skip = a != "-c"
            continue
        if a in ("-MD", "-fdiagnostics-color=always") or a.endswith((".c", ".o")):
            continue
        out.append(a)
    return args[0], out


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    db = json.load(open(os.path.join(build, "compile_commands.json")))
    by_dir = {}
    for e in db:
        f = os.path.normpath(os.path.join(e["directory"], e["file"]))
        by_dir.setdefault(os.path.dirname(f), e["command"])
    headers = subprocess.run(["git", "-C", src, "ls-files", "*.h"], capture_output=True,
                             text=True, check=True).stdout.split()
    failed = 0
    for h in headers:
        path = os.path.join(src, h)
        d = os.path.dirname(path)
        while d not in by_dir and d.startswith(src) and d != src:
            d = os.path.dirname(d)
        cmd = by_dir.get(d) or by_dir[next(iter(by_dir))]
        cc, fl = flags_for(cmd)
        r = subprocess.run([cc, *fl, "-I", os.path.dirname(path), "-fsyntax-only", "-x", "c",
                            "-include", path, "/dev/null"], cwd=build, capture_output=True,
                           text=True)
        if r.returncode:
            failed += 1
            print("FAIL %s\n%s" % (h, r.stderr.strip()))
    print("%d headers, %d failed" % (len(headers), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
