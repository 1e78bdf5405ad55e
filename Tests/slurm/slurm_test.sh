#!/usr/bin/env bash
# End-to-end test of `tailscope slurm` on a real single-node Slurm (started here, stopped in the
# EXIT trap): index, cooccur and prune run as array jobs with dependent steps over a corpus split
# into five files, and every result must equal the single-process run. Then a shard that fails
# must cancel its merge and be named by `status`, and the rerun after the fix must finish.
#
# Corpus: the shared 10 MB Wikipedia sample when ../shared is present, else the fortunes corpus
# (datasets/fetch_fortunes.sh). Usage: Tests/slurm/slurm_test.sh [TAILSCOPE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${1:-$(swift build --show-bin-path)/tailscope}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || { echo "no tailscope binary at $bin (swift build first)" >&2; exit 1; }
start=$(date +%s.%N)

tmp=$(mktemp -d /tmp/tsl.XXXXXX)
chmod 755 "$tmp"   # munged wants every directory above its socket searchable by all
cluster=$tmp/c
cleanup() {
  "$root/scripts/slurm_cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$root/scripts/slurm_cluster.sh" start "$cluster" >/dev/null
export SLURM_CONF=$cluster/slurm.conf
printf "slurm: cluster up in %.1f s\n" "$(echo "$(date +%s.%N) - $start" | bc -l)"

cd "$tmp"
mkdir corpus
shared=$root/../shared/datasets/corpora/enwiki-sample-10MB.jsonl.zst
if [ -f "$shared" ]; then src=$shared; else src=$root/datasets/data/fortunes.jsonl.zst; fi
zstd -dc "$src" > all.jsonl
split -n l/5 -d --additional-suffix=.jsonl all.jsonl corpus/part
# Exact copies of some documents in another file, for dedup across shards.
head -40 corpus/part00.jsonl >> corpus/part03.jsonl
# An eval set from the corpus itself: a question of words from a document, one of its later
# words as the answer.
python3 - <<'EOF'
import json, re
rows = []
for line in open("all.jsonl"):
    words = re.findall(r"[A-Za-z]{4,}", json.loads(line)["text"])
    if len(words) > 40:
        rows.append({"question": " ".join(words[:8]), "answer": words[30]})
    if len(rows) == 60:
        break
with open("eval.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
EOF

fail() { echo "slurm test FAILED: $*" >&2; exit 1; }
same() {  # label, file a, file b, query
  diff <(sqlite3 "$2" "$4") <(sqlite3 "$3" "$4") >/dev/null || fail "$1 differs"
  [ -n "$(sqlite3 "$2" "$4" | head -1)" ] || fail "$1 is empty"
}
T=$bin

# index: 5 shards by file, merged by a tree of merges of 2 (3 levels).
"$T" index corpus --orders 1-2 -o single.sqlite --no-progress 2>/dev/null
"$T" slurm index corpus --orders 1-2 --shards 5 --merge-fanin 2 -o slurm.sqlite --workdir runs/index --wait >/dev/null 2>&1 \
  || { "$T" slurm status runs/index; fail "slurm index did not complete"; }
same "index vocabulary" single.sqlite slurm.sqlite "select token, count, df from vocab order by token"
same "index bigrams" single.sqlite slurm.sqlite "select ngram, count, df from ngram2_text order by ngram"
[ -e runs/index/done/merge2-1 ] || fail "the merge tree did not run level 2"
echo "slurm: index, 5 shards + a merge tree: equal to one process"

# cooccur: 3 shards by document, summed into each index.
"$T" cooccur --index single.sqlite --eval eval.jsonl --corpus corpus --window 5 >/dev/null 2>&1
"$T" slurm cooccur --index slurm.sqlite --eval eval.jsonl --corpus corpus --window 5 --shards 3 --shard-by doc \
  --workdir runs/cooccur --wait >/dev/null 2>&1 || { "$T" slurm status runs/cooccur; fail "slurm cooccur did not complete"; }
same "cooccur pairs" single.sqlite slurm.sqlite \
  "select qterm_aliases, answer_aliases, docs, window_count from cooccur_pairs order by 1, 2"
same "cooccur terms" single.sqlite slurm.sqlite "select term, count, df from targeted_terms order by term"
echo "slurm: cooccur, 3 shards + merge --into: equal to one process"

# prune: plan (3 shards), resolve, apply (3 shards), finish.
steps="corpus --index single.sqlite --dedup exact --near-dup 0.7 --decontaminate eval.jsonl --balance 30 --keep tail --target-fraction 0.6 --seed 4"
"$T" prune $steps -o single.jsonl --manifest single-manifest.sqlite --no-progress 2>/dev/null
"$T" slurm prune $steps --shards 3 -o curated --suffix .jsonl --manifest slurm-manifest.sqlite --workdir runs/prune --wait >/dev/null 2>&1 \
  || { "$T" slurm status runs/prune; fail "slurm prune did not complete"; }
[ "$(sort single.jsonl | md5sum)" = "$(cat curated/part-*.jsonl | sort | md5sum)" ] || fail "prune kept other documents"
for t in documents sources steps summary; do
  same "prune manifest $t" single-manifest.sqlite slurm-manifest.sqlite "select * from $t order by 1"
done
echo "slurm: prune, plan/resolve/apply/finish with 3 shards: equal to one process"

# A failing shard cancels the merge and is named with its log; the rerun after the fix finishes
# and does not redo the shards that succeeded.
mkdir bad && cp corpus/*.jsonl bad/
echo '{"text": "broken' >> bad/part01.jsonl
if "$T" slurm index bad --orders 1 --shards 3 -o bad.sqlite --workdir runs/bad --wait 2>status.txt >/dev/null; then
  fail "a broken shard did not fail the run"
fi
grep -q "shards shard 2: failed; log .*shards-2.log: .*part01.jsonl:.*invalid_json" status.txt || { cat status.txt; fail "status did not name the failed shard"; }
grep -q "merge: 1 task(s) cancelled" status.txt || { cat status.txt; fail "the merge was not cancelled"; }
[ ! -e bad.sqlite ] || fail "a failed run wrote its output"
sed -i '$d' bad/part01.jsonl
"$T" slurm index bad --orders 1 --shards 3 -o bad.sqlite --workdir runs/bad --wait >/dev/null 2>&1 || fail "the rerun did not complete"
grep -q "already done" runs/bad/logs/shards-1.log || fail "the rerun redid a finished shard"
[ -s bad.sqlite ] || fail "the rerun wrote no index"
echo "slurm: a failed shard cancels its merge, status names it, the rerun finishes"

printf "slurm: all passed in %.1f s\n" "$(echo "$(date +%s.%N) - $start" | bc -l)"
