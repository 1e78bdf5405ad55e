#!/usr/bin/env python3
"""Brute-force relevant documents (Kandpal et al.) for EvaluationTests, independent of tailscope.

Usage: brute_relevant.py CORPUS.jsonl[.zst] EVAL.jsonl GAZETTEER.tsv STOPWORDS.txt
Prints JSON: per eval row, the question's entities (leftmost-longest non-overlapping gazetteer
matches), the documents holding an alias of the best entity and an alias of the answer (the
entity with the most), and the documents holding any entity and the answer.
Tokens come from scripts/reference_count.py, the independent tokenizer the index tests use.
"""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from reference_count import tokens, documents

corpus, evalpath, gazpath, stoppath = sys.argv[1:5]
stop = set(w.strip() for w in open(stoppath, encoding="utf-8") if w.strip())
tok = lambda s: tokens(s, True)

entries, index = [], {}
for line in open(gazpath, encoding="utf-8"):
    cols = [c.strip(" \t") for c in line.rstrip("\r\n").split("\t")]
    cols = [c for c in cols if c]
    if not cols or cols[0].startswith("#"):
        continue
    aliases = []
    for a in cols:
        t = tuple(tok(a))
        if t and not all(x in stop for x in t) and t not in aliases:
            aliases.append(t)
    if not aliases:
        continue
    for a in aliases:
        index.setdefault(a, len(entries))
    entries.append((cols[0], aliases))
maxlen = max((len(a) for a in index), default=0)

def entities(qtoks):
    out, i = [], 0
    while i < len(qtoks):
        for L in range(min(maxlen, len(qtoks) - i), 0, -1):
            k = index.get(tuple(qtoks[i:i + L]))
            if k is not None:
                if k not in out:
                    out.append(k)
                i += L
                break
        else:
            i += 1
    return out

docs = ["\0" + "\0".join(tok(d)) + "\0" for d in documents(corpus, "text", "line")]
def holds(doc, aliases):
    return any("\0" + "\0".join(a) + "\0" in doc for a in aliases)

out = []
for line in open(evalpath, encoding="utf-8"):
    row = json.loads(line)
    answers = row["answer"] if isinstance(row["answer"], list) else [row["answer"]]
    ans = [tuple(tok(a)) for a in answers]
    ans = [a for a in ans if a]
    ents = entities(tok(row["question"]))
    terms = [entries[k][1] for k in ents if not set(entries[k][1]) & set(ans)]
    if not ans or not terms:
        out.append({"entities": [entries[k][0] for k in ents], "best": None, "any": None})
        continue
    with_answer = [d for d in docs if holds(d, ans)]
    per = [sum(1 for d in with_answer if holds(d, t)) for t in terms]
    anyd = sum(1 for d in with_answer if any(holds(d, t) for t in terms))
    out.append({"entities": [entries[k][0] for k in ents], "best": max(per), "any": anyd})
print(json.dumps(out))
