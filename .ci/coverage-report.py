#!/usr/bin/env python3
"""Line coverage per folder of lib/ (lib/base, lib/asn1, ..., lib/daemon/vmmd)
and cli/, then the least-covered files, from gcovr's JSON summary
(gcovr --json-summary). Usage: coverage-report.py SUMMARY.json [N]"""
import json
import sys


def folder(path):
    parts = path.split("/")
    if parts[0] == "lib" and len(parts) > 2:
        # lib/daemon/<core>/x.c counts under lib/daemon/<core>
        depth = 3 if parts[1] == "daemon" and len(parts) > 3 else 2
        return "/".join(parts[:depth])
    return parts[0] if len(parts) > 1 else "."


def main():
    summary = json.load(open(sys.argv[1]))
    worst_n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    folders = {}
    for f in summary["files"]:
        c, t = folders.get(folder(f["filename"]), (0, 0))
        folders[folder(f["filename"])] = (c + f["line_covered"], t + f["line_total"])
    print("line coverage per folder")
    print(f"  {'folder':<22}{'lines':>8}{'covered':>9}{'%':>7}")
    for name in sorted(folders):
        c, t = folders[name]
        print(f"  {name:<22}{t:>8}{c:>9}{100.0 * c / t if t else 100.0:>7.1f}")
    c = summary["line_covered"]
    t = summary["line_total"]
    print(f"  {'total':<22}{t:>8}{c:>9}{100.0 * c / t if t else 100.0:>7.1f}")
    files = [f for f in summary["files"] if f["line_total"] > 0]
    files.sort(key=lambda f: (f["line_covered"] / f["line_total"], -f["line_total"]))
    print(f"the {worst_n} least-covered files")
    for f in files[:worst_n]:
        pct = 100.0 * f["line_covered"] / f["line_total"]
        print(f"  {f['filename']:<36}{f['line_total']:>6} lines{pct:>7.1f}%")


if __name__ == "__main__":
    main()
