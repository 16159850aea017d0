#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's layout check (make check-daemon-layout, issue 12).

Fails when
  - the `#include "..."` lines of daemon/**/*.[ch] form a cycle: a module is
    a .c file and its .h (core/conn.c + core/conn.h count as one), so the
    graph from main down to util/ stays acyclic (daemon/README.md);
  - a daemon .c file has more than MAX_LINES lines (generated protobuf code,
    *.pb-c.c, is not under daemon/ and is excluded anyway).
Includes resolve as the compiler does with -Idaemon: next to the including
file first, then from daemon/; anything else (sspi.h, wire.h, system and
library headers) is outside the graph.
"""
import os
import re
import sys

MAX_LINES = 900
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def main():
        root = sys.argv[1] if len(sys.argv) > 1 else "daemon"
        files = []
        for d, _, names in os.walk(root):
                for n in sorted(names):
                        if n.endswith((".c", ".h")) and not n.endswith(".pb-c.c"):
                                files.append(os.path.relpath(os.path.join(d, n), root))
        known = set(files)
        module = lambda f: os.path.splitext(f)[0]
        edges = {}
        sites = {}
        bad = 0
        for f in sorted(files):
                with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                        lines = fh.read().splitlines()
                if f.endswith(".c") and len(lines) > MAX_LINES:
                        print(f"daemon layout: {root}/{f} has {len(lines)} lines (at most {MAX_LINES}): "
                              "split it by concern", file=sys.stderr)
                        bad = 1
                m = module(f)
                edges.setdefault(m, set())
                for i, line in enumerate(lines, 1):
                        inc = INCLUDE.match(line)
                        if not inc:
                                continue
                        here = os.path.normpath(os.path.join(os.path.dirname(f), inc.group(1)))
                        target = here if here in known else os.path.normpath(inc.group(1))
                        if target not in known or module(target) == m:
                                continue
                        edges[m].add(module(target))
                        sites.setdefault((m, module(target)), f"{root}/{f}:{i}")
        # Iterative DFS; a grey node met again closes a cycle.
        colour = {m: 0 for m in edges}
        for start in sorted(edges):
                if colour[start]:
                        continue
                stack = [(start, iter(sorted(edges[start])))]
                path = [start]
                colour[start] = 1
                while stack:
                        node, it = stack[-1]
                        nxt = next(it, None)
                        if nxt is None:
                                colour[node] = 2
                                stack.pop()
                                path.pop()
                                continue
                        if colour.get(nxt, 0) == 1:
                                cyc = path[path.index(nxt):] + [nxt]
                                print("daemon layout: include cycle " + " -> ".join(cyc), file=sys.stderr)
                                for a, b in zip(cyc, cyc[1:]):
                                        print(f"    {sites[(a, b)]}: {a} includes {b}", file=sys.stderr)
                                return 1
                        if colour.get(nxt, 0) == 0:
                                colour[nxt] = 1
                                path.append(nxt)
                                stack.append((nxt, iter(sorted(edges.get(nxt, ())))))
        return bad


if __name__ == "__main__":
        sys.exit(main())
