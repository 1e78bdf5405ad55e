#!/usr/bin/env python3
"""Independent, obviously-correct reference for `tailscope index`: the same tokenizer definition
and the same counts, written with Python's collections.Counter.

Usage:
  reference_count.py [--orders N] [--case keep|fold] [--text-field F] [--doc-per line|paragraph|file]
                     [--dump out.tsv] [--sqlite out.sqlite] FILE...

--dump writes "n<TAB>ngram<TAB>count<TAB>df" sorted by (n, ngram); --sqlite writes the same rows to
a SQLite table (the work a user's own script would do); both are used by tests and the benchmark.
"""
import argparse
import collections
import gzip
import json
import re
import sqlite3
import subprocess
import sys
import unicodedata


def _build_tables():
    """The tokenizer definition as a regex character class and a lowercase table, both derived
    from unicodedata: token characters are L*, M*, Nd; folding is str.lower() per code point."""
    ranges, start = [], None
    for cp in range(0x110000):
        ok = not (0xD800 <= cp <= 0xDFFF) and (
            unicodedata.category(chr(cp))[0] in "LM" or unicodedata.category(chr(cp)) == "Nd")
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    cls = "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    lower = {}
    for a, b in ranges:
        for cp in range(a, b + 1):
            low = chr(cp).lower()
            if low != chr(cp):
                lower[cp] = low
    return re.compile("[" + cls + "]+"), lower


TOKEN_RE, LOWER = _build_tables()


def tokens(text, fold):
    """A token is a maximal run of L*, M*, Nd code points; each code point lowercased alone."""
    toks = TOKEN_RE.findall(text)
    if fold:
        toks = [t.translate(LOWER) for t in toks]
    return toks


def open_bytes(path):
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:4] == b"\x28\xb5\x2f\xfd":
        p = subprocess.Popen(["zstd", "-dc", "--long=31", path], stdout=subprocess.PIPE)
        return p.stdout
    if head[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def documents(path, field, doc_per):
    name = path
    for s in (".zst", ".gz"):
        if name.endswith(s):
            name = name[: -len(s)]
    jsonl = name.endswith((".jsonl", ".json", ".ndjson"))
    stream = open_bytes(path)
    if jsonl:
        for raw in stream:
            if not raw.strip():
                continue
            obj = json.loads(raw.decode("utf-8", errors="replace"))
            for part in field.split("."):
                obj = obj[part]
            yield obj
        return
    text_lines = (raw.decode("utf-8", errors="replace").rstrip("\n") for raw in stream)
    if doc_per == "line":
        for line in text_lines:
            if line.strip(" \t\r\v\f"):
                yield line
    elif doc_per == "paragraph":
        para = []
        for line in text_lines:
            if line.strip(" \t\r\v\f"):
                para.append(line)
            elif para:
                yield "\n".join(para)
                para = []
        if para:
            yield "\n".join(para)
    else:
        yield "\n".join(text_lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--orders", type=int, default=3)
    ap.add_argument("--case", default="fold")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--doc-per", default="line")
    ap.add_argument("--dump")
    ap.add_argument("--sqlite")
    a = ap.parse_args()
    fold = a.case == "fold"
    counts = [collections.Counter() for _ in range(a.orders + 1)]
    dfs = [collections.Counter() for _ in range(a.orders + 1)]
    docs = ntok = 0
    for path in a.files:
        for text in documents(path, a.text_field, a.doc_per):
            toks = tokens(text, fold)
            docs += 1
            ntok += len(toks)
            for n in range(1, a.orders + 1):
                grams = [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
                counts[n].update(grams)
                dfs[n].update(set(grams))
    if a.dump:
        with open(a.dump, "w", encoding="utf-8") as f:
            for n in range(1, a.orders + 1):
                for g in sorted(counts[n]):
                    f.write(f"{n}\t{g}\t{counts[n][g]}\t{dfs[n][g]}\n")
    if a.sqlite:
        db = sqlite3.connect(a.sqlite)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("CREATE TABLE ngrams(n INTEGER, ngram TEXT, count INTEGER, df INTEGER, PRIMARY KEY(n, ngram)) WITHOUT ROWID")
        for n in range(1, a.orders + 1):
            db.executemany("INSERT INTO ngrams VALUES (?, ?, ?, ?)",
                           ((n, g, c, dfs[n][g]) for g, c in sorted(counts[n].items())))
        db.commit()
    print(json.dumps({"docs": docs, "tokens": ntok}))


if __name__ == "__main__":
    main()
