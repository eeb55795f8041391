#!/usr/bin/env python3
"""Draws a crate's module import graph from its `use crate::...` lines and reports the
strongly connected components (import circles).

Usage: scripts/import_graph.py CRATE_SRC_DIR [--max N] [--edges]

Each file under CRATE_SRC_DIR is a node (`a/mod.rs` is module `a`). An edge A -> B means
A names `crate::B...` (in a `use` line or an inline path) or `super::`/`self::` paths that
resolve to B. Imports of a module's own descendants are kept; imports of a file's own
parent `mod.rs` are kept too (they are real edges). Exits with status 1 when a component
is larger than N files (default: no limit, just report). Python standard library only.
"""

import os
import re
import sys


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return ()
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE = re.compile(r"\b(pub(?:\([a-z]+\))?\s+)?use\s+([^;]+);", re.S)


def split_top(s):
    depth, cur, out = 0, "", []
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [p.strip() for p in out if p.strip()]


def use_paths(tree):
    """Turns the tree of `use a::{b, c::{d, e as f}}` into [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, body):
        for item in split_top(body):
            if item.startswith("{") and item.endswith("}"):
                walk(prefix, item[1:-1])
                continue
            head, brace, rest = item.partition("::{")
            segs = [x for x in head.split("::") if x]
            if brace:
                walk(prefix + segs, rest[:-1])
            else:
                out.append(prefix + segs)

    walk([], tree)
    return out


def resolve(modules, reexports, here, segs):
    """The module file a path names, following `pub use` re-exports of facade modules."""
    if not segs:
        return None
    root, segs = segs[0], list(segs[1:])
    if root == "crate":
        base = ()
    elif root == "self":
        base = here
    elif root == "super":
        base = here[:-1]
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
    elif here + (root,) in modules:  # 2018-edition path to a child module
        base = here + (root,)
    else:
        return None
    full = base + tuple(segs)
    for _ in range(10):
        target = None
        for n in range(len(full), -1, -1):
            if full[:n] in modules:
                target = full[:n]
                break
        if target is None:
            return None
        rest = full[len(target):]
        if rest and (target, rest[0]) in reexports:
            full = reexports[(target, rest[0])] + rest[1:]
            continue
        return target
    return None


def graph(src):
    files = {}
    for dirpath, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(dirpath, n)
                files[module_of(src, p)] = p
    modules = set(files)
    texts, uses = {}, {}
    reexports = {}  # (facade module, name) -> the full path it re-exports
    for m, p in files.items():
        with open(p, encoding="utf-8") as f:
            text = strip_comments(f.read())
        # test modules inside a file are not part of its import structure
        text = re.split(r"#\[cfg\(test\)\]\s*mod\s+tests", text)[0]
        uses[m] = []
        for u in USE.finditer(text):
            for path in use_paths(u.group(2)):
                uses[m].append((bool(u.group(1)), path))
        texts[m] = USE.sub("", text)
    # resolve re-exports (a `pub use` of a path in the crate) to full paths
    for m in files:
        for public, path in uses[m]:
            if not public or not path:
                continue
            root = path[0]
            if root == "crate":
                full = tuple(path[1:])
            elif root == "self":
                full = m + tuple(path[1:])
            elif root == "super":
                full, rest = m[:-1], path[1:]
                while rest and rest[0] == "super":
                    full, rest = full[:-1], rest[1:]
                full = full + tuple(rest)
            elif m + (root,) in modules:
                full = m + tuple(path)
            else:
                continue
            reexports[(m, path[-1])] = full
    edges = {m: set() for m in modules}
    for m in files:
        paths = [p for public, p in uses[m] if not public]
        # a re-exported name the facade's own code also uses is a real import
        for public, p in uses[m]:
            if public and p and re.search(r"\b%s\b" % re.escape(p[-1]), texts[m]):
                paths.append(p)
        # 2018-edition paths to a child module in expressions: `health::live`
        for child in {c[-1] for c in modules if len(c) == len(m) + 1 and c[: len(m)] == m}:
            if re.search(r"(?<![:\w])%s::" % re.escape(child), texts[m]):
                paths.append([child])
        paths += [[r] + s.split("::")[1:] for r, s in PATH.findall(texts[m])]
        for path in paths:
            t = resolve(modules, reexports, m, path)
            if t is not None and t != m:
                edges[m].add(t)
    return files, edges


def tarjan(edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "crate"


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    src = args[0]
    limit = None
    if "--max" in args:
        limit = int(args[args.index("--max") + 1])
    files, edges = graph(src)
    if "--edges" in args:
        for m in sorted(edges):
            for t in sorted(edges[m]):
                print(f"{name(m)} -> {name(t)}")
    comps = [sorted(c) for c in tarjan(edges) if len(c) > 1]
    comps.sort(key=len, reverse=True)
    print(f"{src}: {len(files)} files, {sum(len(e) for e in edges.values())} edges, "
          f"{len(comps)} circle(s)")
    for c in comps:
        print(f"  {len(c)} files: " + ", ".join(name(m) for m in c))
    if limit is not None and any(len(c) > limit for c in comps):
        print(f"error: a circle spans more than {limit} files")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
