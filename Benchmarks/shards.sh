#!/usr/bin/env bash
# Scale-out measurements (release build): the corpus is split into 16 zstd files, and for 1, 2,
# 4, 8 and 16 shards each shard of each pass runs on its own, one after another (as separate
# array tasks would), then the merge. For every step: wall and CPU seconds (user + sys) and peak
# RSS. Reported per N: total CPU of the shards, the slowest shard, the merge, their peak RSS.
#
#   index --orders 1-2 (and the index size per token for orders 1, 1-2, 1-3 on the whole corpus)
#   cooccur over NQ-open dev (when ../shared/datasets/eval is present)
#   prune --dedup exact --near-dup 0.8 (plan per shard, resolve, apply per shard, finish)
#
# Usage: Benchmarks/shards.sh [CORPUS] [SHARD COUNTS]
#   default: ../shared/datasets/corpora/enwiki-2015-wikiextractor-30k.jsonl.zst, "1 2 4 8 16"
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/datasets/corpora/enwiki-2015-wikiextractor-30k.jsonl.zst}
counts=${2:-1 2 4 8 16}
[ -f "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 66; }
corpus=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")
swift build -c release >/dev/null
bin=$(pwd)/.build/release/tailscope
nq=$(pwd)/../shared/datasets/eval/nq_open/NQ-open.dev.jsonl
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
mkdir parts
zstd -dc "$corpus" > all.jsonl
split -n l/16 -d -a 2 --additional-suffix=.jsonl all.jsonl parts/part
rm all.jsonl
for f in parts/*.jsonl; do zstd -q -3 --rm "$f"; done
raw=$(zstd -dc parts/*.zst | wc -c)
printf "corpus %s: %s bytes of text in 16 files, %s cores\n" "$corpus" "$raw" "$(nproc)"

run() {  # label, command... -> appends "label wall cpu rss_kb" to $out/t
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  read -r wall user sys kb < "$out/time"
  echo "$label $wall $(echo "$user + $sys" | bc -l) $kb" >> "$out/t"
}

summary() {  # pass, N: the shards' total CPU, slowest wall, peak RSS; the merge steps
  awk -v p="$1" -v n="$2" '
    $1 == p"-shard" { cpu += $3; if ($2 > slow) slow = $2; if ($4 > rss) rss = $4 }
    $1 == p"-merge" { mw += $2; mc += $3; if ($4 > mr) mr = $4 }
    END { printf "%-8s N=%-3d shards: CPU %7.1f s total, slowest %6.1f s, peak %5.0f MiB | merge: %6.1f s wall, %6.1f s CPU, peak %5.0f MiB\n",
          p, n, cpu, slow, rss / 1024, mw, mc, mr / 1024 }' "$out/t"
}

for n in $counts; do
  : > "$out/t"
  rm -rf idx && mkdir idx
  for k in $(seq 1 "$n"); do
    run index-shard "$bin" index parts --orders 1-2 --shard "$k/$n" -o "idx/s$k.sqlite" --no-progress --jobs 2
  done
  if [ "$n" -gt 1 ]; then run index-merge "$bin" merge idx/s*.sqlite -o idx/all.sqlite; else mv idx/s1.sqlite idx/all.sqlite; fi
  summary index "$n"
  if [ -f "$nq" ]; then
    rm -rf co && mkdir co
    for k in $(seq 1 "$n"); do
      run cooccur-shard "$bin" cooccur --index idx/all.sqlite --eval "$nq" --corpus parts --window 5 --shard "$k/$n" -o "co/s$k.sqlite"
    done
    run cooccur-merge "$bin" merge co/s*.sqlite --into idx/all.sqlite
    summary cooccur "$n"
  fi
  rm -rf pr && mkdir pr
  flags="parts --dedup exact --near-dup 0.8 --no-progress"
  for k in $(seq 1 "$n"); do run prune-shard "$bin" prune $flags --shard "$k/$n" --plan pr/w; done
  run prune-merge "$bin" prune $flags --resolve pr/w
  for k in $(seq 1 "$n"); do run prune-shard "$bin" prune $flags --shard "$k/$n" --apply pr/w -o "pr/part-$k.jsonl.zst"; done
  run prune-merge "$bin" prune $flags --finish pr/w
  summary prune "$n"
done

# Index size per token, whole corpus, one process.
tokens=""
for o in 1 1-2 1-3; do
  "$bin" index parts --orders "$o" -o "size-$o.sqlite" --no-progress 2>/dev/null
  tokens=$(sqlite3 "size-$o.sqlite" "select value from meta where key = 'tokens'")
  bytes=$(stat -c %s "size-$o.sqlite")
  printf "index size, orders %-4s %12s bytes, %6.2f bytes per token (%s tokens)\n" "$o" "$bytes" "$(echo "$bytes / $tokens" | bc -l)" "$tokens"
done
