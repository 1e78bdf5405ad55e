#!/usr/bin/env bash
# What grows with the corpus: the cost per GB of text of `cooccur` (NQ-open dev, and the zero-shot
# arithmetic file with 62,677 pairs) against `index --orders 1`, without the costs that do not
# grow with it (reading the eval file, building the tables, storing the counts). Each round runs
# the three on two corpora A and B, where B holds A and more text; the marginal cost is
# (seconds on B - seconds on A) / (GB of text in B - GB in A).
#   fresh:    A = the first half of the sample's documents, B = the whole sample. The added text
#             is new, so the index's vocabulary keeps growing, as it does on a larger corpus.
#   repeated: A = the sample, B = the sample twice over. The added text is the same again: no new
#             words for the index (the case most favourable to it), and less noise.
# Rounds are interleaved (A and B of each mode, each tool, in turn); the medians over rounds are
# printed, and the median of each round's ratio. CPU is user + system seconds of all threads.
#
# Usage: Benchmarks/marginal.sh [ROUNDS]   (default 5; needs ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
corpus=../shared/datasets/corpora/enwiki-2015-wikiextractor-30k.jsonl.zst
evals=../shared/datasets/eval
for f in "$corpus" "$evals/nq_open/NQ-open.dev.jsonl" "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl"; do
  [ -f "$f" ] || { echo "marginal.sh: $f is missing (it needs ../shared/datasets)" >&2; exit 66; }
done
swift build -c release >/dev/null
bin=$PWD/.build/release/tailscope
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
lines=$(zstd -dc --long=31 "$corpus" | wc -l)
{ zstd -dc --long=31 "$corpus" || true; } | head -n $((lines / 2)) | zstd -q -3 -T2 -o "$out/half.jsonl.zst"  # (head stops zstd early)
cat "$corpus" "$corpus" > "$out/twice.jsonl.zst"   # two zstd frames: one stream, the documents twice
ln -s "$(realpath "$corpus")" "$out/whole.jsonl.zst"
printf "marginal cost per GB: %d rounds, %s cores, %s\n" "$rounds" "$(nproc)" "$(date -u +%Y-%m-%d)"

run() {  # round, mode, size, corpus
  local r=$1 mode=$2 size=$3 c=$4 w u s
  rm -f "$out/idx.sqlite"; sync
  /usr/bin/time -f "%e %U %S" -o "$out/t" "$bin" index "$c" --orders 1 -o "$out/idx.sqlite" --no-progress >/dev/null 2>"$out/err" \
    || { cat "$out/err" >&2; exit 1; }
  read -r w u s < "$out/t"; echo "$r $mode $size o1 $w $(echo "$u + $s" | bc) 0" >> "$out/rows"
  for tool in nq zs; do
    cp "$out/idx.sqlite" "$out/run.sqlite"; sync
    if [ $tool = nq ]; then ev=(--eval "$evals/nq_open/NQ-open.dev.jsonl"); else
      ev=(--eval "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl" --answer-field gold); fi
    /usr/bin/time -f "%e %U %S" -o "$out/t" "$bin" cooccur --index "$out/run.sqlite" "${ev[@]}" --corpus "$c" --window 5 \
      --json > "$out/co.json" 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
    read -r w u s < "$out/t"
    echo "$r $mode $size $tool $w $(echo "$u + $s" | bc) $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes'])" "$out/co.json")" >> "$out/rows"
  done
}
for r in $(seq "$rounds"); do
  run "$r" fresh A "$out/half.jsonl.zst"; run "$r" fresh B "$out/whole.jsonl.zst"
  run "$r" repeated A "$out/whole.jsonl.zst"; run "$r" repeated B "$out/twice.jsonl.zst"
done
python3 - "$out/rows" <<'PY'
import collections, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
t = {(int(r), m, z, k): (float(w), float(c)) for r, m, z, k, w, c, _ in rows}
text = {(m, z): int(b) for r, m, z, k, w, c, b in rows if k == "nq"}
rounds = sorted({int(r[0]) for r in rows})
for mode in ("fresh", "repeated"):
    gb = (text[(mode, "B")] - text[(mode, "A")]) / 1e9
    print(f"\n{mode}: {text[(mode, 'A')] / 1e6:.0f} MB -> {text[(mode, 'B')] / 1e6:.0f} MB of text")
    per = {k: [[(t[(r, mode, "B", k)][i] - t[(r, mode, "A", k)][i]) / gb for r in rounds] for i in (0, 1)] for k in ("o1", "nq", "zs")}
    names = {"o1": "index --orders 1", "nq": "cooccur NQ-open dev", "zs": "cooccur arithmetic (62k pairs)"}
    for k in ("o1", "nq", "zs"):
        line = f"  {names[k]:32s} {statistics.median(per[k][0]):5.2f} s/GB wall {statistics.median(per[k][1]):6.2f} CPU-s/GB"
        if k != "o1":
            wall = statistics.median(a / b for a, b in zip(per["o1"][0], per[k][0]))
            cpu = statistics.median(a / b for a, b in zip(per["o1"][1], per[k][1]))
            line += f"   speed against index: {wall:.2f}x (wall), {cpu:.2f}x (CPU); rounds: " + " ".join(f"{a / b:.2f}" for a, b in zip(per["o1"][0], per[k][0]))
        print(line)
PY
