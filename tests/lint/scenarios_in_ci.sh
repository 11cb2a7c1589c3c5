#!/usr/bin/env bash
# Every scenario of scenarios/ runs in CI on nspawn: an end-to-end test (tests/e2e/*.sh)
# names it (its path, or a numbered file's name without .yaml as a word), runs its folder
# (scenarios/DIR followed by a quote, a space or the line's end), or a scenario or
# fixture so run requires it (`requires: [...]`, followed). Prints the scenarios no test
# reaches and fails. ROOT (default: the source tree) is the tree to check.
set -euo pipefail
root=${1:-${DCSLAB_SOURCE_DIR:?DCSLAB_SOURCE_DIR must point at the source tree}}
python3 - "$root" <<'PY'
import os, re, sys
root = sys.argv[1]
tests = ""
for f in sorted(os.listdir(os.path.join(root, "tests/e2e"))):
    if f.endswith(".sh"):
        tests += open(os.path.join(root, "tests/e2e", f)).read() + "\n"
scenarios = []
for d, _, files in os.walk(os.path.join(root, "scenarios")):
    scenarios += [os.path.relpath(os.path.join(d, f), root) for f in files if f.endswith(".yaml")]
fixtures = []
fdir = os.path.join(root, "fixtures/e2e")
if os.path.isdir(fdir):
    fixtures = [os.path.join("fixtures/e2e", f) for f in os.listdir(fdir) if f.endswith(".yaml")]

def named(path):
    stem = os.path.basename(path)[:-len(".yaml")]
    folder = os.path.dirname(path)
    return (path in tests
            or (stem[:1].isdigit()
                and re.search(r"(?<![\w.-])" + re.escape(stem) + r"(?![\w-])", tests))
            or re.search(re.escape(folder) + r"/?(\"|'| |$)", tests, re.M))

def requires(path):
    text = open(os.path.join(root, path)).read()
    m = re.search(r"^requires:\s*\[(.*)\]", text, re.M)
    if not m:
        return []
    return [os.path.normpath(os.path.join(os.path.dirname(path), r.strip().strip("'\"")))
            for r in m.group(1).split(",") if r.strip()]

reached = set()
todo = [p for p in scenarios + fixtures if named(p)]
while todo:
    p = todo.pop()
    if p in reached or not os.path.exists(os.path.join(root, p)):
        continue
    reached.add(p)
    todo += requires(p)
missing = sorted(p for p in scenarios if p not in reached)
for p in missing:
    print("no end-to-end test runs %s" % p)
print("%d scenarios, %d run by tests/e2e" % (len(scenarios), len(scenarios) - len(missing)))
sys.exit(1 if missing else 0)
PY
