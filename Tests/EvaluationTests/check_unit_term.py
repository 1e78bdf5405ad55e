#!/usr/bin/env python3
"""Checks `correlate --unit term` against scipy on the per-term CSV it wrote, and the per-term
accuracy against the eval rows themselves.

Usage: check_unit_term.py OUT.json TERMS.csv EVAL.jsonl   (needs scipy; prints "ok")
"""
import csv, json, math, re, sys
from collections import defaultdict
import numpy as np
import scipy.stats as st

report = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
evals = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]

# Per-term accuracy from the eval rows: numbers as tailscope reads them (digit runs joined across
# one inner . or ,), each question counted once per distinct number it holds.
NUM = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
acc = defaultdict(lambda: defaultdict(list))
for e in evals:
    for n in dict.fromkeys(NUM.findall(e["question"])):
        acc[e["model"]][n].append(1.0 if e["correct"] else 0.0)
for r in rows:
    want = acc[r["group"]][r["term"].replace(" ", "")]
    assert len(want) == int(r["questions"]), (r, len(want))
    assert abs(sum(want) / len(want) - float(r["accuracy"])) < 1e-12, r

for g in report["groups"]:
    label = "/".join(g["group"].values())
    sub = [r for r in rows if r["group"] == label]
    x = np.array([float(r["x"]) for r in sub]); y = np.array([float(r["accuracy"]) for r in sub])
    assert g["n"] == len(sub)
    rho, p = st.spearmanr(x, y)
    assert abs(rho - g["spearman"]["rho"]) < 1e-9 and abs(p - g["spearman"]["p"]) < 1e-7, (label, rho, g["spearman"])
    tau, p = st.kendalltau(x, y)
    assert abs(tau - g["kendall_tau_b"]["tau"]) < 1e-9 and abs(p - g["kendall_tau_b"]["p"]) < 1e-7, (label, tau, g["kendall_tau_b"])
    r_, p = st.pearsonr(x, y)
    assert abs(r_ - g["pearson"]["r"]) < 1e-9 and abs(p - g["pearson"]["p"]) < 1e-7, (label, r_, g["pearson"])
    # Razeghi's delta: accuracy of terms at or above the 90% quantile of x minus at or below 10%.
    q = report["settings"]["gap_quantile"]
    lo, hi = np.quantile(x, q), np.quantile(x, 1 - q)
    delta = y[x >= hi].mean() - y[x <= lo].mean()
    assert abs(delta - g["gap"]["value"]) < 1e-12, (label, delta, g["gap"])
print("ok")
