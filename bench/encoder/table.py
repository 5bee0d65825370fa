#!/usr/bin/python3
"""Markdown tables from a results file of bench/encoder/run.sh:
    /usr/bin/python3 bench/encoder/table.py bench/encoder/results-*.jsonl
Throughput per cell (threads x batch) for every engine with nlpipe's ratios, then
nlpipe's GFLOP/s against the sgemm peak measured in the same run (1024^3, same
thread count), peak RSS against the model file and time to first result."""
import json, sys
from collections import defaultdict

rows = [json.loads(l) for f in sys.argv[1:] for l in open(f) if l.startswith("{")]
# the sgemm peak: the best 1024^3 product of the run, BLIS or the prepacked kernel
peak = {}
for r in rows:
    if r["engine"] in ("sgemm", "packed") and r["m"] == 1024:
        peak[r["threads"]] = max(peak.get(r["threads"], 0), r["gflop_per_s"])
# the register-FMA roof of one core (sgemm_peak.c, AVX-512 CPUs), times the threads
fma = next((r["gflop_per_s"] for r in rows if r["engine"] == "fma"), None)
cells = defaultdict(dict)


def engine(r):
    """nlpipe's variants by split and binary (run.sh's nlpipe-batches, nlpipe-base)"""
    if r["engine"] != "nlpipe":
        return r["engine"]
    if r.get("binary", "build/nlpipe") != "build/nlpipe":
        return "nlpipe-base"
    return "nlpipe-batches" if r.get("split") == "batches" and r["threads"] > 1 else "nlpipe"


for r in rows:
    if r["engine"] not in ("sgemm", "packed", "fma"):
        cells[(r["threads"], r["batch"])][engine(r)] = r
engines = [e for e in ("nlpipe", "nlpipe-batches", "nlpipe-base", "ort", "torch")
           if any(e in c for c in cells.values())]
print("| threads | batch | " + " | ".join(f"{e} sent/s" for e in engines) + " | nlpipe / ort | nlpipe / torch |")
print("|---|---|" + "---|" * (len(engines) + 2))
for (t, b), c in sorted(cells.items()):
    sp = {e: c[e]["sentences_per_s"] for e in engines if e in c}
    ratio = lambda o: f"{sp['nlpipe'] / sp[o]:.2f}x" if "nlpipe" in sp and o in sp else "-"
    print(f"| {t} | {b} | " + " | ".join(f"{sp[e]:.2f}" if e in sp else "-" for e in engines)
          + f" | {ratio('ort')} | {ratio('torch')} |")
print()
print("| threads | batch | nlpipe GFLOP/s (true lengths) | ort GFLOP/s (padded) | sgemm peak 1024^3 | nlpipe % of peak | % of FMA roof | peak RSS MB | model MB | RSS ratio | first result s | max abs logit diff | labels agree |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (t, b), c in sorted(cells.items()):
    n = c.get("nlpipe")
    if not n:
        continue
    o = c.get("ort", {})
    pk = peak.get(t)
    chk = n.get("check", {})
    roof = f"{100 * n['gflop_per_s'] / (fma * t):.0f}%" if fma else "-"
    print(f"| {t} | {b} | {n['gflop_per_s']:.1f} | {o.get('gflop_per_s', '-')} | {pk if pk else '-'} | "
          f"{(100 * n['gflop_per_s'] / pk) if pk else 0:.0f}% | "
          f"{roof} | {n['peak_rss_mb']} | {n['model_file_mb']} | "
          f"{n['rss_ratio']} | {n['time_to_first_result_s']} | {chk.get('max_abs_diff', '-'):.2g} | "
          f"{chk.get('label_agree', '-')}/{chk.get('compared', '-')} |")
print()
print("load average at each run (2 cores): " + ", ".join(
    f"{r['engine']} t{r['threads']} b{r['batch']}: {r.get('loadavg', 0):.1f}" for r in rows if r["engine"] not in ("sgemm", "packed", "fma")))
if fma:
    print(f"\nFMA roof of one core (register-only AVX-512 FMAs): {fma} GFLOP/s")
