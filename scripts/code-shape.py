#!/usr/bin/env python3
"""Counts what the code-shape rules bound: production source files over 600
lines and functions over 80 lines (tests, benches and examples excluded).
Usage: scripts/code-shape.py [ROOT]   (ROOT defaults to crates/)"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates")
FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?fn\s+(\w+)")
long_files, long_fns = [], []
for path in sorted(root.glob("*/src/**/*.rs")):
    if path.name == "tests.rs":
        continue
    lines = path.read_text().splitlines()
    if len(lines) > 600:
        long_files.append((len(lines), str(path)))
    in_tests = False
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]"):
            in_tests = True
        match = FN.match(line)
        if in_tests or not match:
            continue
        indent = match.group(1)
        if line.rstrip().endswith(";"):
            continue
        for j in range(i + 1, len(lines)):
            if lines[j] == indent + "}":
                length = j - i + 1
                if length > 80:
                    long_fns.append((length, f"{path}:{i + 1} {match.group(6)}"))
                break
print(f"files over 600 lines: {len(long_files)}")
for n, name in sorted(long_files, reverse=True):
    print(f"  {n:5} {name}")
print(f"functions over 80 lines: {len(long_fns)}")
for n, name in sorted(long_fns, reverse=True):
    print(f"  {n:5} {name}")
