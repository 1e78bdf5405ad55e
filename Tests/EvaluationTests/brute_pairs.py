#!/usr/bin/env python3
"""Brute-force question-side pair counts for EvaluationTests, independent of tailscope.

Usage: brute_pairs.py CORPUS.jsonl[.zst] PAIRS.json WINDOW
PAIRS.json is a list of [x_tokens, y_tokens]. Prints JSON: per pair [documents holding both,
occurrence pairs whose starts are at most WINDOW apart and that do not overlap].
Tokens come from scripts/reference_count.py, the independent tokenizer the index tests use.
"""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from reference_count import tokens, documents

corpus, pairs_path, window = sys.argv[1], sys.argv[2], int(sys.argv[3])
pairs = [(tuple(x), tuple(y)) for x, y in json.load(open(pairs_path))]
needed = {p for pair in pairs for p in pair}
docs_with = {p: [] for p in needed}   # per phrase: (doc index, start positions)
by_first = {}
for p in needed:
    by_first.setdefault(p[0], []).append(p)
for d, text in enumerate(documents(corpus, "text", "line")):
    toks = tokens(text, True)
    found = {}
    for i, t in enumerate(toks):
        for p in by_first.get(t, ()):
            if tuple(toks[i:i + len(p)]) == p:
                found.setdefault(p, []).append(i)
    for p, starts in found.items():
        docs_with[p].append((d, starts))
out = []
for x, y in pairs:
    xs, ys = dict(docs_with[x]), dict(docs_with[y])
    both = set(xs) & set(ys)
    hits = 0
    for d in both:
        for s in xs[d]:
            for u in ys[d]:
                if abs(s - u) <= window and not (s < u + len(y) and u < s + len(x)):
                    hits += 1
    out.append([len(both), hits])
print(json.dumps(out))
