#!/usr/bin/env bash
# Obtains a small real corpus from Debian's `fortunes` package (the fortune-mod quotation files:
# thousands of short real texts) and writes it as JSON lines in three containers:
#   datasets/data/fortunes.jsonl.zst, fortunes.jsonl.gz, fortunes.txt (one fortune per paragraph)
# Each JSON line is {"id": "<file>/<n>", "source": "<file>", "text": "..."}.
# Provenance: Debian package `fortunes` (fortune-mod data), downloaded with `apt-get download`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/data"
mkdir -p "$out"
if [ -s "$out/fortunes.jsonl.zst" ] && [ -s "$out/fortunes.jsonl.gz" ] && [ -s "$out/fortunes.txt" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download fortunes >/dev/null 2>&1 || { apt-get update -qq && apt-get download fortunes >/dev/null; })
dpkg-deb -x "$work"/fortunes_*.deb "$work/root"
python3 - "$work/root/usr/share/games/fortunes" "$out" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
docs = []
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    if name.endswith(".dat") or name.endswith(".u8") or os.path.islink(path) or not os.path.isfile(path):
        continue
    text = open(path, "rb").read().decode("utf-8", errors="replace")
    for i, chunk in enumerate(text.split("\n%\n")):
        chunk = chunk.strip("\n%")
        if chunk.strip():
            docs.append({"id": f"{name}/{i}", "source": name, "text": chunk})
with open(os.path.join(out, "fortunes.jsonl"), "w", encoding="utf-8") as f:
    for d in docs:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
with open(os.path.join(out, "fortunes.txt"), "w", encoding="utf-8") as f:
    for d in docs:
        # one paragraph per fortune: collapse inner blank lines so paragraphs stay documents
        lines = [l for l in d["text"].split("\n") if l.strip()]
        f.write("\n".join(lines) + "\n\n")
print(f"fortunes: {len(docs)} documents", file=sys.stderr)
PY
zstd -q -f -19 "$out/fortunes.jsonl" -o "$out/fortunes.jsonl.zst"
gzip -c -9 "$out/fortunes.jsonl" > "$out/fortunes.jsonl.gz"
rm -f "$out/fortunes.jsonl"
