#!/usr/bin/env python3
"""docs/CI.md's examples: every ```yaml github-actions and ```yaml gitlab-ci block parses
as YAML and has what its CI system requires. With --self-test, proves the checks fail on
broken examples."""
import re
import sys

import yaml


def blocks(text):
    return re.findall(r"^```yaml ([a-z-]+)\n(.*?)^```", text, re.S | re.M)


def check_github(doc):
    errors = []
    # YAML 1.1 reads a bare `on` as True; GitHub reads it as the key "on".
    if "on" not in doc and True not in doc:
        errors.append("no `on` (the events that start the workflow)")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return errors + ["no `jobs`"]
    for name, job in jobs.items():
        if not isinstance(job, dict):
            errors.append(f"job {name} is not a map")
            continue
        if "runs-on" not in job:
            errors.append(f"job {name} has no `runs-on`")
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            errors.append(f"job {name} has no `steps`")
            continue
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or ("run" in step) == ("uses" in step):
                errors.append(f"job {name} step {i + 1} needs exactly one of `run` and `uses`")
    return errors


GITLAB_GLOBAL = {"stages", "variables", "default", "include", "workflow", "image", "services",
                 "before_script", "after_script", "cache"}


def check_gitlab(doc):
    errors = []
    stages = doc.get("stages", ["build", "test", "deploy"])
    jobs = {k: v for k, v in doc.items() if k not in GITLAB_GLOBAL and not k.startswith(".")}
    if not jobs:
        errors.append("no jobs")
    for name, job in jobs.items():
        if not isinstance(job, dict):
            errors.append(f"job {name} is not a map")
            continue
        script = job.get("script")
        if not isinstance(script, (list, str)) or not script:
            errors.append(f"job {name} has no `script`")
        # .pre and .post are GitLab's own first and last stages, never declared.
        if job.get("stage", "test") not in list(stages) + [".pre", ".post"]:
            errors.append(f"job {name}: stage {job.get('stage')} is not in `stages`")
    return errors


CHECKS = {"github-actions": check_github, "gitlab-ci": check_gitlab}


def check_text(text):
    found, errors = set(), []
    for kind, body in blocks(text):
        if kind not in CHECKS:
            errors.append(f"unknown example kind {kind}")
            continue
        found.add(kind)
        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError as e:
            errors.append(f"{kind}: not YAML: {e}")
            continue
        if not isinstance(doc, dict):
            errors.append(f"{kind}: not a map")
            continue
        errors += [f"{kind}: {e}" for e in CHECKS[kind](doc)]
    for kind in CHECKS:
        if kind not in found:
            errors.append(f"no {kind} example")
    return errors


def main():
    path = sys.argv[1]
    text = open(path, encoding="utf-8").read()
    errors = check_text(text)
    for e in errors:
        print(f"FAIL: {path}: {e}")
    if errors:
        return 1
    print(f"ok: {path}: {len(blocks(text))} examples parse and have their CI system's keys")
    if "--self-test" in sys.argv:
        broken = {
            "bad indentation": text.replace("    runs-on: ubuntu-24.04", "   runs-on: [ubuntu"),
            "no runs-on": text.replace("    runs-on: ubuntu-24.04\n", ""),
            "a step without run": text.replace("      - name: Build the node image\n        run:", "      - name: Build the node image\n        ran:"),
            "no script": text.replace("  script:\n    - sudo scripts/install-deps", "  scrip:\n    - sudo scripts/install-deps"),
            "no gitlab example": text.replace("```yaml gitlab-ci", "```yaml"),
        }
        for what, t in broken.items():
            if t == text:
                print(f"FAIL: self-test '{what}' changed nothing")
                return 1
            errs = check_text(t)
            if not errs:
                print(f"FAIL: the check passes an example with {what}")
                return 1
            print(f"ok: fails on {what}: {errs[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
