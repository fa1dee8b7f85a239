#!/usr/bin/env python3
"""The hub's own tests as a regression suite: runs `phalanx hubtest run --all`
and compares the verdicts with two lists kept in this directory.

  expected-pass.txt  tests that pass (one name a line)
  known-gaps.txt     tests that do not pass yet: "name: cause"

Every test counts: a test passes when its parser asserts (unless
ignore_parsers) and its scenario asserts (when it lists scenarios) all hold,
as `cscli hubtest run` decides. TAP output:
  ok            an expected pass that passes
  not ok        an expected pass that fails (a regression)
  ok # SKIP     a known gap that still fails, with its cause
  not ok        a known gap or unlisted test that passes (move it to expected-pass.txt),
                or an unlisted test that fails (list it with its cause)

Usage: check_hubtest.py PHALANX [HUB]   (HUB defaults to $HUB, then
$PHALANX_SOURCE_ROOT/../shared/hub). Without a hub: one visible SKIP.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = "2026-11-27T00:00:00Z"


def read_list(name):
    """Returns {test: cause} from a list file ('#' comments, 'name' or 'name: cause')."""
    out = {}
    with open(os.path.join(HERE, name), encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name_, _, cause = line.partition(":")
            out[name_.strip()] = cause.strip()
    return out


def main():
    if len(sys.argv) < 2:
        print("usage: check_hubtest.py PHALANX [HUB]", file=sys.stderr)
        return 2
    phalanx = sys.argv[1]
    hub = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("HUB")
    root = os.environ.get("PHALANX_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
    if not hub:
        hub = os.path.join(root, "..", "shared", "hub")
    elif not os.path.isabs(hub) and os.path.isdir(os.path.join(root, hub)):
        # `make test` passes HUB relative to the source root; meson runs us in the build dir.
        hub = os.path.join(root, hub)
    hub = os.path.abspath(hub)
    if not os.path.isdir(os.path.join(hub, ".tests")):
        print("1..1")
        print(f"ok 1 hub tests # SKIP no hub at {hub} (set HUB)")
        return 0
    expected = read_list("expected-pass.txt")
    gaps = read_list("known-gaps.txt")
    cmd = [phalanx, "hubtest", "run", "--all", "--hub", hub, "--now", NOW, "--jobs", "2",
           "-o", "json", "--patterns", os.path.join(root, "config", "patterns")]
    mmdb = os.environ.get("PHALANX_TEST_MMDB_DIR")
    if mmdb:
        cmd += ["--geoip-dir", mmdb]
    r = subprocess.run(cmd, capture_output=True, text=True)
    try:
        results = json.loads(r.stdout)
    except json.JSONDecodeError:
        print("1..1")
        print(f"not ok 1 phalanx hubtest run did not print JSON (exit {r.returncode})")
        for line in (r.stderr or r.stdout).strip().splitlines()[-20:]:
            print("# " + line)
        return 1
    checked = results
    seen = {t["name"] for t in checked}
    lines = []
    for t in checked:
        name, ok = t["name"], t["status"] == "pass"
        why = t.get("error") or t.get("first_failure") or t["status"]
        if t.get("actual") is not None:
            why += f" (actual: {t['actual']})"
        if not ok and "needs GeoIP test databases" in (t.get("error") or "") and not mmdb:
            lines.append(("ok", f"{name} # SKIP needs the generated GeoIP test databases "
                          "(Debian's libmaxmind-db-writer-perl)"))
        elif name in expected:
            if ok:
                lines.append(("ok", f"{name} ({t['assertions']} assertions; parser {t['parser']}, "
                              f"scenario {t['scenario']})"))
            else:
                lines.append(("not ok", f"{name} regressed: {why}"))
        elif name in gaps:
            if ok:
                lines.append(("not ok", f"{name} passes now: move it from known-gaps.txt "
                              "to expected-pass.txt"))
            else:
                lines.append(("ok", f"{name} # SKIP known gap: {gaps[name]}"))
        elif ok:
            lines.append(("not ok", f"{name} passes but is in no list: add it to "
                          "expected-pass.txt"))
        else:
            lines.append(("not ok", f"{name} fails and is in no list: {why}"))
    for name in sorted(set(expected) | set(gaps)):
        if name not in seen:
            lines.append(("not ok", f"{name} is listed but is not a test of the hub"))
    print(f"1..{len(lines)}")
    for i, (verdict, text) in enumerate(lines, 1):
        print(f"{verdict} {i} {text}".replace("\n", " "))
    npass = sum(1 for t in checked if t["status"] == "pass")
    nscen = sum(1 for t in checked if t["scenario"] != "none")
    spass = sum(1 for t in checked if t["scenario"] == "pass")
    print(f"# hub tests: {npass}/{len(checked)} pass ({spass}/{nscen} with scenario asserts)")
    return 0 if all(verdict == "ok" for verdict, _ in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
