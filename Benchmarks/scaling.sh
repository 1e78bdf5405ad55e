#!/usr/bin/env bash
# Release-build benchmark of `tailscope scaling` at the size the issue sets: 20,000 questions
# answered by 8 models (160,000 rows), 1,000 paired bootstrap resamples over questions.
# Target: under 10 s. The corpus and the results are generated here (a Zipfian vocabulary, and
# correctness that rises with frequency and size), so the script needs nothing but python3.
#
# Usage: Benchmarks/scaling.sh [QUESTIONS] [MODELS]
set -euo pipefail
cd "$(dirname "$0")/.."
questions=${1:-20000}
models=${2:-8}
swift build -c release >/dev/null
bin=.build/release/tailscope
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 - "$out" "$questions" "$models" <<'PY'
import json, math, random, sys
out, nq, nm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
vocab = [f"t{i}" for i in range(nq)]
with open(f"{out}/corpus.jsonl", "w") as f:
    for d in range(20000):  # Zipf(1) over the vocabulary: word i about 2e6/((i+1) ln nq) times
        words = [vocab[min(nq - 1, int(math.exp(rng.random() * math.log(nq))) - 1)] for _ in range(100)]
        f.write(json.dumps({"text": " ".join(words)}) + "\n")
sizes = [10 ** (8 + 0.5 * k) for k in range(nm)]
with open(f"{out}/runs.jsonl", "w") as f:
    for k, p in enumerate(sizes):
        for q in range(nq):
            x = math.log10(2e6 / ((q + 1) * math.log(nq)) + 1)
            eta = -1 + 0.4 * x + 0.3 * (math.log10(p) - 10) - 0.05 * x * (math.log10(p) - 10)
            ok = rng.random() < 1 / (1 + math.exp(-eta))
            f.write(json.dumps({"id": q, "question": f"what about t{q}", "model": f"m-{p:.3g}".replace("e+", "e"),
                                "params": p, "correct": ok}) + "\n")
PY
"$bin" index "$out/corpus.jsonl" --orders 1 -o "$out/i.sqlite" --no-progress >/dev/null
printf "scaling: %d questions x %d models, 1000 paired bootstrap resamples, %s cores\n" "$questions" "$models" "$(nproc)"
/usr/bin/time -f "%e s wall, %U s user, %M KiB peak RSS" "$bin" scaling --index "$out/i.sqlite" --eval "$out/runs.jsonl" \
  --id-field id --size-field params --terms content --bootstrap 1000 --json "$out/s.json" > "$out/table.txt"
grep -E "^(b3|Joint)" "$out/table.txt" | head -2
