#!/usr/bin/env python3
"""Build the .index.json of a hub laid out like CrowdSec's (config/hub by default).

The index has the shape of the CrowdSec hub's: one object per item type
(parsers, postoverflows, scenarios, collections, contexts), keyed by
"<author>/<file stem>", each item carrying its path, author, description,
labels, the base64 of its file (content), its stage (parsers,
postoverflows), its dependency lists (collections) and every version it had
with the sha256 of the file at that version.

Versions come from the index already on disk: when an item's file still has
the digest of its latest version, nothing changes; when the file changed, a
new minor version is appended (0.1 -> 0.2) and the old digests are kept, so
an installed older copy is still recognised. Running the script twice in a
row gives byte-identical output, which is what the collection test checks.

Usage: scripts/hub-index.py [--hub DIR] [--base INDEX] [-o OUT]
  --hub   the hub root (default: config/hub next to this script)
  --base  the index whose version history is kept (default: HUB/.index.json)
  -o      where to write (default: HUB/.index.json; "-" for stdout)
"""

import argparse
import base64
import hashlib
import json
import os
import sys

import yaml

# Item types, the folder each lives in, and whether the folder has stages.
TYPES = (
    ("parsers", "parsers", True),
    ("postoverflows", "postoverflows", True),
    ("scenarios", "scenarios", False),
    ("collections", "collections", False),
    ("contexts", "contexts", False),
)
DEPENDENCY_KEYS = ("parsers", "postoverflows", "scenarios", "collections", "contexts",
                   "appsec-configs", "appsec-rules")
YAML_SUFFIXES = (".yaml", ".yml")


def first_document(raw, path):
    """The first YAML document of a file (parser files may hold several)."""
    try:
        for doc in yaml.safe_load_all(raw):
            if isinstance(doc, dict):
                return doc
    except yaml.YAMLError as e:
        sys.exit(f"hub-index: {path}: {e}")
    sys.exit(f"hub-index: {path}: no YAML mapping")


def item_files(hub, folder, staged):
    """(stage or None, author, file name) of every YAML item under hub/folder, sorted."""
    top = os.path.join(hub, folder)
    if not os.path.isdir(top):
        return []
    out = []
    stages = sorted(os.listdir(top)) if staged else [None]
    for stage in stages:
        base = os.path.join(top, stage) if stage else top
        if not os.path.isdir(base):
            continue
        for author in sorted(os.listdir(base)):
            adir = os.path.join(base, author)
            if not os.path.isdir(adir):
                continue
            for name in sorted(os.listdir(adir)):
                if name.endswith(YAML_SUFFIXES):
                    out.append((stage, author, name))
    return out


def next_version(version):
    major, _, minor = version.partition(".")
    return f"{major}.{int(minor or 0) + 1}"


def versions_for(old_item, digest):
    """The version history with digest as the latest version."""
    if not old_item or not old_item.get("versions"):
        return "0.1", {"0.1": {"deprecated": False, "digest": digest}}
    versions = dict(old_item["versions"])
    latest = old_item.get("version") or max(versions, key=lambda v: [int(x) for x in v.split(".")])
    if versions.get(latest, {}).get("digest") == digest:
        return latest, versions
    for v, info in versions.items():
        if info.get("digest") == digest:
            # Reverted to an older content: that version is the latest again.
            return v, versions
    new = next_version(latest)
    versions[new] = {"deprecated": False, "digest": digest}
    return new, versions


def build(hub, base):
    index = {}
    for kind, folder, staged in TYPES:
        items = {}
        for stage, author, fname in item_files(hub, folder, staged):
            rel = "/".join(p for p in (folder, stage, author, fname) if p)
            with open(os.path.join(hub, rel), "rb") as f:
                raw = f.read()
            doc = first_document(raw, rel)
            key = f"{author}/{os.path.splitext(fname)[0]}"
            if key in items:
                sys.exit(f"hub-index: {rel}: {kind} item {key} defined twice")
            digest = hashlib.sha256(raw).hexdigest()
            version, versions = versions_for(base.get(kind, {}).get(key), digest)
            item = {
                "author": author,
                "content": base64.b64encode(raw).decode("ascii"),
                "description": doc.get("description", ""),
                "labels": doc.get("labels"),
                "path": rel,
                "version": version,
                "versions": versions,
            }
            if staged:
                item["stage"] = stage
            if kind == "collections":
                for dep in DEPENDENCY_KEYS:
                    if doc.get(dep):
                        item[dep] = list(doc[dep])
            items[key] = item
        index[kind] = items
    return index


def check_dependencies(index):
    """Every name a collection lists must be an item of this index."""
    errors = []
    for name, coll in index["collections"].items():
        for dep in DEPENDENCY_KEYS:
            for ref in coll.get(dep, []):
                if ref not in index.get(dep, {}):
                    errors.append(f"collection {name}: {dep} {ref} is not in the hub")
    if errors:
        sys.exit("hub-index: " + "\n".join(errors))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hub", default=os.path.join(here, "..", "config", "hub"))
    ap.add_argument("--base", help="index whose version history is kept")
    ap.add_argument("-o", "--output", help="output file, - for stdout")
    args = ap.parse_args()

    base_path = args.base or os.path.join(args.hub, ".index.json")
    base = {}
    if os.path.exists(base_path):
        with open(base_path, encoding="utf-8") as f:
            base = json.load(f)
    index = build(args.hub, base)
    check_dependencies(index)
    text = json.dumps(index, indent=2, sort_keys=True) + "\n"
    out = args.output or os.path.join(args.hub, ".index.json")
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
