#!/usr/bin/env bash
# Release-build benchmark of `tailscope index`, side by side in one run with its floor and its
# baseline:
#   zstd -dc > /dev/null              decompression alone (the floor)
#   tailscope index --orders 1        unigrams
#   tailscope index --orders 1-3      with --memory 1GiB
#   Python reference, orders 1-3      collections.Counter, same tokenizer, rows written to SQLite
#   correlate, cooccur, prune         on the shared eval files, when present (prune --keep hard always)
# Prints wall seconds, MB/s of raw text and peak RSS for each, and the ratios.
#
# Usage: Benchmarks/run.sh [CORPUS]   (default: ../shared/datasets/corpora/enwiki-2015-wikiextractor-30k.jsonl.zst)
#   BENCH_SKIP_PYTHON=1  skip the Python baseline (it needs ~10 GB of RAM and minutes on the full file)
#   BENCH_ROUNDS=N       interleaved rounds of `index --orders 1` and the two `cooccur` runs for the
#                        cooccur/index ratios (default 3; 0 skips them): one run of each is too noisy
#                        for a verdict within a few percent
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/datasets/corpora/enwiki-2015-wikiextractor-30k.jsonl.zst}
[ -f "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 66; }
swift build -c release >/dev/null
bin=.build/release/tailscope
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
raw=$(zstd -dc --long=31 "$corpus" 2>/dev/null | wc -c || gzip -dc "$corpus" | wc -c)
printf "corpus %s: %s bytes of raw text, %s cores\n\n" "$corpus" "$raw" "$(nproc)"

measure() {  # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  read -r secs kb < "$out/time"
  printf "%-28s %8.1f s %9.1f MB/s %9.0f MiB peak RSS\n" "$name" "$secs" "$(echo "$raw / $secs / 1000000" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
  echo "$name $secs $kb" >> "$out/results"
}

measure "zstd -dc (floor)" sh -c "zstd -dc --long=31 '$corpus' > /dev/null"
measure "tailscope index --orders 1" "$bin" index "$corpus" --orders 1 -o "$out/o1.sqlite" --no-progress
measure "tailscope index --orders 1-3" "$bin" index "$corpus" --orders 1-3 --memory 1GiB -o "$out/o3.sqlite" --no-progress
# correlate and cooccur on the orders 1-3 index, when the shared eval files are present. The
# index just written is flushed to disk first, so that its writeback is not charged to them.
sync
evals=../shared/datasets/eval
if [ -f "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl" ]; then
  measure "correlate --terms content" "$bin" correlate --index "$out/o3.sqlite" \
    --eval "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl" --group-by dataset,method --terms content
fi
if [ -f "$evals/nq_open/NQ-open.dev.jsonl" ]; then
  measure "cooccur NQ-open dev" sh -c "'$bin' cooccur --index '$out/o3.sqlite' --eval '$evals/nq_open/NQ-open.dev.jsonl' \
    --corpus '$corpus' --window 5 --json > '$out/nq.json'"
fi
if [ -f "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl" ]; then
  measure "cooccur zero-shot (gold)" sh -c "'$bin' cooccur --index '$out/o3.sqlite' \
    --eval '$evals/zero_shot_cot_text-davinci-002_per_question.jsonl' --answer-field gold --corpus '$corpus' --window 5 --json > '$out/zs.json'"
fi
# prune: exact dedup + decontamination against GSM8K (target >= 50 MB/s), and near-dup (>= 10 MB/s),
# each writing a zstd output.
if [ -f "$evals/gsm8k_test.jsonl" ]; then
  measure "prune dedup+decontaminate" "$bin" prune "$corpus" --dedup exact --decontaminate "$evals/gsm8k_test.jsonl" \
    -o "$out/pruned.jsonl.zst" --no-progress
fi
measure "prune near-dup 0.8" "$bin" prune "$corpus" --near-dup 0.8 -o "$out/neardup.jsonl.zst" --no-progress
# prune --keep hard: prototype distances (a decide pass, k-means, a scoring pass, a writing pass).
measure "prune keep hard 0.5" "$bin" prune "$corpus" --index "$out/o3.sqlite" --keep hard --target-fraction 0.5 \
  -o "$out/hard.jsonl.zst" --no-progress
if [ -z "${BENCH_SKIP_PYTHON:-}" ]; then
  measure "python Counter, orders 1-3" python3 scripts/reference_count.py "$corpus" --orders 3 --sqlite "$out/py.sqlite"
fi
echo
o1=$(grep "^tailscope index --orders 1 " "$out/results" | awk '{print $(NF-1)}')
o3=$(grep "^tailscope index --orders 1-3 " "$out/results" | awk '{print $(NF-1)}')
floor=$(grep "^zstd" "$out/results" | awk '{print $(NF-1)}')
printf "orders 1 vs zstd floor:      %.1fx the time\n" "$(echo "$o1 / $floor" | bc -l)"
printf "orders 1-3 vs orders 1:      %.1fx the time\n" "$(echo "$o3 / $o1" | bc -l)"
# cooccur: the whole run, and its pass alone (what grows with the corpus; the setup reads the eval
# file and builds the tables, the store writes the counts).
for c in "NQ dev:cooccur NQ:nq" "62k pairs:cooccur zero:zs"; do
  IFS=: read -r label prefix json <<< "$c"
  if grep -q "^$prefix" "$out/results"; then
    co=$(grep "^$prefix" "$out/results" | awk '{print $(NF-1)}')
    pass=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pass_seconds'])" "$out/$json.json")
    printf "cooccur (%s) vs orders 1: %.2fx the speed; its pass alone against the whole index run %.2fx (target >= 1, issue 17)\n" "$label" \
      "$(echo "$o1 / $co" | bc -l)" "$(echo "$o1 / $pass" | bc -l)"
  fi
done
# The same ratios over interleaved rounds: each round runs `index --orders 1` twice (first and last)
# and each `cooccur` once between them, each `cooccur` on a fresh copy of the orders 1 index (so no
# earlier run is replaced); a run's ratio is against the mean of its round's two index runs. Wall
# clock to the millisecond.
rounds=${BENCH_ROUNDS:-3}
if [ "$rounds" -gt 0 ] && [ -f "$evals/nq_open/NQ-open.dev.jsonl" ] && [ -f "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl" ]; then
  : > "$out/rounds"
  timed() {  # label, command...: appends "label seconds" to $out/rounds
    local label=$1; shift
    local t0; t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
    echo "$label $(echo "$(date +%s.%N) - $t0" | bc -l)" >> "$out/rounds"
  }
  index_o1() { rm -f "$out/r1.sqlite"; sync; timed "o1 $1" "$bin" index "$corpus" --orders 1 -o "$out/r1.sqlite" --no-progress; }
  co() {  # round, name, eval args...
    local r=$1 name=$2; shift 2
    cp "$out/o1.sqlite" "$out/co.sqlite"; sync
    timed "$name $r" "$bin" cooccur --index "$out/co.sqlite" --corpus "$corpus" --window 5 "$@"
  }
  for r in $(seq "$rounds"); do
    index_o1 "$r"
    co "$r" nq --eval "$evals/nq_open/NQ-open.dev.jsonl"
    co "$r" zs --eval "$evals/zero_shot_cot_text-davinci-002_per_question.jsonl" --answer-field gold
    index_o1 "$r"
  done
  python3 - "$out/rounds" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, r, secs = line.split()
    runs[(name, int(r))].append(float(secs))
rounds = sorted({r for _, r in runs})
for name, label in (("nq", "NQ dev"), ("zs", "62k pairs")):
    ratios = [statistics.mean(runs[("o1", r)]) / runs[(name, r)][0] for r in rounds]
    print(f"cooccur ({label}) vs orders 1 over {len(rounds)} interleaved rounds: median {statistics.median(ratios):.2f}x "
          f"the speed (rounds {min(ratios):.2f}-{max(ratios):.2f}x; target >= 1, issue 17)")
PY
fi
for p in "prune dedup+decontaminate" "prune near-dup 0.8"; do
  if grep -q "^$p " "$out/results"; then
    secs=$(grep "^$p " "$out/results" | awk '{print $(NF-1)}')
    printf "%-28s %.0f MB/s, %.1fx the zstd floor's time\n" "$p:" "$(echo "$raw / $secs / 1000000" | bc -l)" "$(echo "$secs / $floor" | bc -l)"
  fi
done
if grep -q python "$out/results"; then
  py=$(grep "^python" "$out/results" | awk '{print $(NF-1)}')
  printf "python vs tailscope 1-3:     tailscope is %.1fx faster\n" "$(echo "$py / $o3" | bc -l)"
fi
"$bin" stats "$out/o3.sqlite" | sed -n '5,13p'
