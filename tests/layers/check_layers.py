#!/usr/bin/env python3
"""The layers of harness/ and the arrows between them, checked on every build.

Each folder of harness/ is a layer and a CMake library; a subfolder that is not a layer
of its own (run/actions/) belongs to its parent's. A source file may include
headers of its own folder and of the layers its folder lists below, and only the outside
libraries its folder lists; a unit test (*_test.cc) may also include testing/. A wrong
arrow fails the build, naming the file, the line and the rule (ARCHITECTURE.md draws the
same table).

  check_layers.py HARNESS_DIR [STAMP]
"""
import os
import re
import sys

# layer: (layers it may include, outside libraries it may include)
LAYERS = {
    "base": ([], ["openssl", "nlohmann"]),
    "ssh": (["base"], ["libssh"]),
    "lab": (["base", "ssh"], ["yaml-cpp", "nlohmann"]),
    "tls": (["base", "lab"], ["openssl"]),
    "check": (["base"], ["nlohmann"]),
    "etcd": (["base", "tls", "check"], ["nlohmann"]),
    "pg": (["base"], ["libpq", "nlohmann"]),
    "providers": (["base", "lab", "providers/libvirt", "providers/nspawn",
                   "providers/virtualbox"], []),
    "providers/libvirt": (["base", "lab", "providers"], ["libvirt", "pugixml", "nlohmann"]),
    "providers/nspawn": (["base", "lab", "providers"], []),
    "providers/virtualbox": (["base", "lab", "providers"], ["nlohmann"]),
    "control": (["base", "ssh", "lab", "providers"], ["nlohmann"]),
    "report": (["base"], ["pugixml", "nlohmann"]),
    "scenario": (["base", "ssh", "lab"], ["yaml-cpp", "nlohmann", "re2"]),
    "run": (["base", "ssh", "lab", "tls", "check", "etcd", "pg", "report", "scenario"],
            ["nlohmann"]),
    "cli": (["base", "ssh", "lab", "tls", "check", "etcd", "pg", "providers", "control",
             "report", "scenario", "run"], ["boost", "spdlog", "nlohmann"]),
    "testing": (["base", "ssh", "lab", "tls", "check", "etcd", "pg", "providers", "control",
                 "report", "scenario", "run"], ["openssl", "nlohmann"]),
}
# Outside libraries, by the first part of their include path.
OUTSIDE = {
    "spdlog": "spdlog", "fmt": "fmt", "openssl": "openssl", "libssh": "libssh",
    "yaml-cpp": "yaml-cpp", "nlohmann": "nlohmann", "libvirt": "libvirt",
    "pugixml.hpp": "pugixml", "boost": "boost", "gtest": "gtest", "gmock": "gmock",
    # libpq: Debian's libpq-dev puts libpq-fe.h in /usr/include/postgresql (pkg-config's
    # -I), so it is <libpq-fe.h>; <postgresql/libpq-fe.h> names the same header.
    "libpq-fe.h": "libpq", "libpq-events.h": "libpq", "postgresql": "libpq",
    # RE2 for a scenario's `matches`: linear time, no recursion, whatever a node prints.
    "re2": "re2",
}
TEST_ONLY = ["gtest", "gmock"]
# Every layer logs through spdlog (fmt comes with it); base links it for all.
EVERYWHERE = ["spdlog", "fmt"]
# Tests read the reports they check with a real XML parser.
IN_TESTS = ["pugixml", "nlohmann"]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(path):
    """The layer a file or header path belongs to: its folder's, or for a subfolder that
    is not a layer itself (run/actions/), its nearest parent's."""
    folder = os.path.dirname(path)
    while folder and folder not in LAYERS:
        folder = os.path.dirname(folder)
    return folder or None


def check_file(root, rel):
    errors = []
    layer = layer_of(rel)
    if layer is None:
        return [f"{rel}: not in a layer folder ({', '.join(sorted(LAYERS))})"]
    is_test = rel.endswith("_test.cc")
    layers, outside = LAYERS[layer]
    allowed = set(layers) | {layer}
    if is_test:
        allowed |= {"testing"}
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            quote, target = m.groups()
            if quote == '"':
                target_layer = layer_of(target)
                if target_layer is None:
                    errors.append(f"{rel}:{lineno}: includes \"{target}\": name a header by its "
                                  "layer folder (\"base/error.h\")")
                elif target_layer not in allowed:
                    errors.append(f"{rel}:{lineno}: layer {layer} includes {target_layer} "
                                  f"(\"{target}\"); {layer} may include: "
                                  f"{', '.join(sorted(allowed))}")
            else:
                lib = OUTSIDE.get(target.split("/")[0])
                if lib is None:
                    continue  # the C and C++ standard libraries, POSIX
                if lib in EVERYWHERE or (is_test and lib in IN_TESTS):
                    continue
                if lib in TEST_ONLY:
                    if not is_test and layer != "testing":
                        errors.append(f"{rel}:{lineno}: <{target}> outside a test")
                elif lib not in outside:
                    errors.append(f"{rel}:{lineno}: layer {layer} uses <{target}> ({lib}); "
                                  f"{layer} may use: {', '.join(outside) or 'no outside library'}")
    return errors


def main():
    root = sys.argv[1]
    errors = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith((".h", ".cc")):
                errors += check_file(root, os.path.relpath(os.path.join(dirpath, name), root))
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_layers: {len(errors)} wrong arrow(s); see ARCHITECTURE.md", file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
