#!/usr/bin/env python3
"""Heaps' law on real corpora: distinct tokens (types) V against tokens N, V = K * N^beta, fitted by
least squares on log V against log N over log-spaced points from 10^5 tokens on, with the tokenizer
of `tailscope index` (scripts/reference_count.py's definition, case folded). Prints the fit per
corpus and the projections `docs/cluster.md` uses: the vocabulary of a shard and of the whole of a
corpus of 300 B and 3 T tokens, and its memory at BYTES_PER_TYPE (measured by the caller from a
real index run: peak RSS of `index --orders 1` minus the same run's baseline, over its types).

Usage: Benchmarks/heaps.py [--bytes-per-type B] FILE...   (JSONL with a text field, or text lines)
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import reference_count as ref  # noqa: E402


def curve(path):
    doc_per = "line"
    field = "text" if ".json" in path else None
    seen = set()
    n = 0
    nxt = 100_000
    points = []
    for text in ref.documents(path, field, doc_per):
        for t in ref.tokens(text, True):
            n += 1
            seen.add(t)
            if n >= nxt:
                points.append((n, len(seen)))
                nxt = int(nxt * 1.25)
    points.append((n, len(seen)))
    return points


def fit(points):
    xs = [math.log(p[0]) for p in points]
    ys = [math.log(p[1]) for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    k = math.exp(my - beta * mx)
    resid = max(abs(y - (math.log(k) + beta * x)) for x, y in zip(xs, ys))
    return k, beta, resid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes-per-type", type=float, default=0)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    fits = []
    for f in a.files:
        pts = curve(f)
        if len(pts) < 3:
            print(f"{os.path.basename(f)}: too small ({pts[-1][0]} tokens)")
            continue
        k, beta, resid = fit(pts)
        fits.append((os.path.basename(f), k, beta, pts[-1]))
        print(f"{os.path.basename(f)}: N = {pts[-1][0]:,} tokens, V = {pts[-1][1]:,} types; "
              f"V = {k:.2f} N^{beta:.3f} (largest |log residual| {resid:.3f})")
    if not fits:
        return
    name, k, beta, _ = max(fits, key=lambda t: t[3][0])
    print(f"\nprojections from {name} (V = {k:.2f} N^{beta:.3f}); web text grows faster (URLs, hashes, typos, other scripts):")
    for label, tokens in [("Pile shard (1/64)", 300e9 / 64), ("Pile shard (1/1024)", 300e9 / 1024),
                          ("Pile (300 B tokens)", 300e9), ("Dolma shard (1/1024)", 3e12 / 1024),
                          ("Dolma (3 T tokens)", 3e12)]:
        v = k * tokens ** beta
        mem = f", {v * a.bytes_per_type / 2**30:,.1f} GiB at {a.bytes_per_type:.0f} B/type" if a.bytes_per_type else ""
        print(f"  {label:22s} N = {tokens:.3g}: V = {v:,.0f}{mem}")


if __name__ == "__main__":
    main()
