#!/usr/bin/env python3
"""Runs every test suite and prints one total line: "N passed, N failed[, N skipped]".

Suites: lint (clang-format, cppcheck, clang-tidy), unit (meson test; each TAP
case counts), functional (bats, TAP). A suite that cannot start counts as one
failure, never as silence. Exit status is non-zero when anything failed.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

TAP_RE = re.compile(r"^(not ok|ok)\b(.*)$")


def count_tap(text):
    """Returns (passed, failed, skipped, failed_lines) for TAP output."""
    passed = failed = skipped = 0
    bad = []
    for line in text.splitlines():
        m = TAP_RE.match(line.strip())
        if not m:
            continue
        rest = m.group(2)
        if re.search(r"#\s*skip", rest, re.IGNORECASE):
            skipped += 1
        elif m.group(1) == "ok":
            passed += 1
        elif re.search(r"#\s*todo", rest, re.IGNORECASE):
            passed += 1
        else:
            failed += 1
            bad.append(line.strip())
    return passed, failed, skipped, bad


class Totals:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def add(self, suite, p, f, s, bad=()):
        self.passed += p
        self.failed += f
        self.skipped += s
        extra = f", {s} skipped" if s else ""
        print(f"[{suite}] {p} passed, {f} failed{extra}", flush=True)
        for b in list(bad)[:40]:
            print(f"    {b}")


def tracked_sources(src):
    out = subprocess.run(["git", "-C", src, "ls-files", "*.c", "*.h"],
                         capture_output=True, text=True)
    files = out.stdout.split()
    if not files:  # not a git checkout (tarball): fall back to the tree
        files = [os.path.relpath(p, src) for p in
                 glob.glob(os.path.join(src, "src/**/*.[ch]"), recursive=True) +
                 glob.glob(os.path.join(src, "tests/**/*.[ch]"), recursive=True) +
                 glob.glob(os.path.join(src, "bench/**/*.[ch]"), recursive=True)]
    return sorted(files)


def run_lint(args, totals):
    files = tracked_sources(args.source)
    cfiles = [f for f in files if f.endswith(".c")]
    checks = []
    r = subprocess.run(["clang-format", "--dry-run", "--Werror"] + files,
                       cwd=args.source, capture_output=True, text=True)
    checks.append(("clang-format", r.returncode == 0, r.stderr))
    r = subprocess.run(["cppcheck", "--quiet", "--error-exitcode=1", "--inline-suppr",
                        "--enable=warning,portability", "--std=c11",
                        "--suppress=missingIncludeSystem", "-I", "src"] +
                       [f for f in cfiles if not f.startswith("tests/")],
                       cwd=args.source, capture_output=True, text=True)
    checks.append(("cppcheck", r.returncode == 0, r.stderr))
    ccdb = os.path.join(args.build, "compile_commands.json")
    srcs = [f for f in cfiles if f.startswith("src/")]
    r = subprocess.run(["clang-tidy", "--quiet", "-p", ccdb] + srcs, cwd=args.source,
                       capture_output=True, text=True)
    # clang-tidy exits 0 on warnings; WarningsAsErrors in .clang-tidy turns our checks into errors.
    checks.append(("clang-tidy", r.returncode == 0, r.stdout + r.stderr))
    bad = []
    for name, ok, out in checks:
        if not ok:
            bad.append(f"not ok {name}")
            bad.extend("      " + l for l in out.strip().splitlines()[:30])
    p = sum(1 for c in checks if c[1])
    totals.add("lint", p, len(checks) - p, 0, bad)


def start_postgres(totals):
    """Starts scripts/pg-test.sh's throw-away cluster for the storage suite.

    Returns (env, cluster dir or None). PHALANX_PG=skip skips it on purpose; a
    cluster that does not start counts as a failure (and the PostgreSQL cases
    then fail too, since they get no PHALANX_PG_CONNINFO)."""
    env = dict(os.environ)
    if env.get("PHALANX_PG") == "skip" or env.get("PHALANX_PG_CONNINFO"):
        return env, None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "pg-test.sh")
    pgdir = tempfile.mkdtemp(prefix="phalanx-pg.")
    r = subprocess.run(["sh", script, "start", pgdir], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        totals.add("postgres", 0, 1, 0, ["not ok PostgreSQL test cluster did not start: " +
                                         (r.stderr or r.stdout)[-800:]])
        subprocess.run(["sh", script, "stop", pgdir], capture_output=True)
        return env, None
    env["PHALANX_PG_CONNINFO"] = r.stdout.strip().splitlines()[-1]
    return env, pgdir


def stop_postgres(pgdir):
    if pgdir:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "pg-test.sh")
        subprocess.run(["sh", script, "stop", pgdir], capture_output=True)


def run_unit(args, totals, env):
    r = subprocess.run(["meson", "test", "-C", args.build, "--num-processes",
                        str(args.jobs), "--print-errorlogs"],
                       capture_output=True, text=True, env=env)
    log = os.path.join(args.build, "meson-logs", "testlog.json")
    p = f = s = 0
    bad = []
    if not os.path.exists(log):
        totals.add("unit", 0, 1, 0, ["not ok meson test did not run: " + r.stderr[-500:]])
        return
    with open(log) as fh:
        for line in fh:
            t = json.loads(line)
            tp, tf, ts, tb = count_tap(t.get("stdout", ""))
            result = t.get("result")
            # cmocka prints a skipped test as "not ok N # SKIP", which meson calls a
            # failure; trust the exit status and the TAP lines instead.
            clean_exit = t.get("returncode") == 0 and result == "FAIL"
            if result not in ("OK", "EXPECTEDFAIL", "SKIP") and tf == 0 and not clean_exit:
                # crashed, timed out or leaked after its last TAP line
                tf = 1
                tb = [f"not ok {t['name']}: {result}"] + \
                     (t.get("stderr", "") or t.get("stdout", "")).strip().splitlines()[-15:]
            p, f, s = p + tp, f + tf, s + ts
            bad += [f"{t['name']}: {b}" for b in tb]
    totals.add("unit", p, f, s, bad)


def bats_once(files, env, totals, suite):
    r = subprocess.run(["bats", "--tap"] + files, capture_output=True, text=True, env=env)
    p, f, s, bad = count_tap(r.stdout)
    if r.returncode != 0 and f == 0:
        f, bad = 1, ["not ok bats: " + (r.stderr or r.stdout)[-800:]]
    elif bad:
        bad += r.stdout.strip().splitlines()[-30:]
    totals.add(suite, p, f, s, bad)


def pg_database(conninfo, name):
    """A fresh database on the test cluster; the conninfo naming it, or None."""
    # two commands: CREATE DATABASE cannot run in the implicit transaction of a multi-statement -c
    r = subprocess.run(["psql", conninfo, "-q", "-c", f"DROP DATABASE IF EXISTS {name}",
                        "-c", f"CREATE DATABASE {name}"], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return " ".join(w for w in conninfo.split() if not w.startswith("dbname=")) + f" dbname={name}"


def run_bats(args, totals, env):
    files = sorted(glob.glob(os.path.join(args.source, "tests", "functional", "*.bats")))
    if not files:
        return
    env = dict(env)
    env["PHALANX_BUILD"] = os.path.abspath(args.build)
    env["PHALANX_SOURCE_ROOT"] = os.path.abspath(args.source)
    env.setdefault("HUB", os.path.abspath(os.path.join(args.source, "..", "shared", "hub")))
    pg = env.pop("PHALANX_PG_CONNINFO", None)
    bats_once(files, env, totals, "functional")
    # The files that know PHALANX_LAPI_DB run again on PostgreSQL, each on a fresh database.
    for i, path in enumerate(files):
        with open(path) as fh:
            if "PHALANX_LAPI_DB" not in fh.read():
                continue
        if not pg:
            totals.add("functional-postgres", 0, 0, 1, [])
            continue
        conninfo = pg_database(pg, f"bats_{i}")
        if conninfo is None:
            totals.add("functional-postgres", 0, 1, 0,
                       [f"not ok cannot create a database for {os.path.basename(path)}"])
            continue
        pgenv = dict(env, PHALANX_LAPI_DB="postgres", PHALANX_PG_CONNINFO=conninfo)
        bats_once([path], pgenv, totals, "functional-postgres")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", default=".")
    ap.add_argument("--only", choices=["lint", "unit", "functional"])
    ap.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    args = ap.parse_args()
    totals = Totals()
    want = [args.only] if args.only else ["lint", "unit", "functional"]
    if "lint" in want:
        run_lint(args, totals)
    # One PostgreSQL cluster for the storage unit tests and the bats files run on it.
    env, pgdir = start_postgres(totals) if "lint" != want[-1] else (dict(os.environ), None)
    try:
        if "unit" in want:
            run_unit(args, totals, env)
        if "functional" in want:
            run_bats(args, totals, env)
    finally:
        stop_postgres(pgdir)
    extra = f", {totals.skipped} skipped" if totals.skipped else ""
    print(f"{totals.passed} passed, {totals.failed} failed{extra}")
    sys.exit(1 if totals.failed else 0)


if __name__ == "__main__":
    main()
