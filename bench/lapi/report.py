"""report.py PHALANX CROWDSEC: the two measure lines of run.sh side by side with the ratio."""
import sys

ph, cs = sys.argv[1].split(), sys.argv[2].split()
# (label, field, lower is better: True/False, None = no ratio)
rows = [("load: POST /v1/alerts (s)", 0, True), ("GET /v1/decisions?ip= (req/s)", 1, False),
        ("  p99 latency (ms)", 2, True), ("stream startup (s)", 3, True),
        ("  body (bytes)", 4, None), ("  decisions", 5, None), ("peak RSS (MiB)", 6, True),
        ("  peak during the load (MiB)", 7, True)]


def num(v, i):
    if v == "-":
        return None
    if i == 2:
        for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
            if v.endswith(unit):
                return float(v[:-len(unit)]) * scale
    if i in (6, 7):
        return float(v) / 1024
    return float(v)


def fmt(x):
    return "-" if x is None else (f"{x:.2f}" if x < 1000 else f"{x:.0f}")


print(f"{'':32} {'phalanx':>12} {'crowdsec':>12} {'ratio':>8}")
for name, i, lower in rows:
    a, b = num(ph[i], i), num(cs[i], i)
    ratio = "-"
    if a and b and lower is not None:
        ratio = f"{(b / a if lower else a / b):.1f}x"
    print(f"{name:32} {fmt(a):>12} {fmt(b):>12} {ratio:>8}")
