#!/usr/bin/env bash
# Embedding throughput: sluice-embed's two backends (ONNX Runtime in f32 and in int8, and candle)
# beside sentence-transformers (PyTorch): same model (models/all-MiniLM-L6-v2, and its ONNX
# export in models/all-MiniLM-L6-v2-onnx), same sentences, same batch size and thread count,
# runs interleaved so that background load hits all three alike.
#
#   bench/embed_peers.sh [THREADS=2] [BATCH=32] [PAIRS=3] [COUNT=512]   (env variables)
#
# Needs `make models`; the first run also builds bench/.venv (see bench/embed_reference.py).
# Results: one JSON line per run in bench/out/embed_peers.jsonl, and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
PAIRS=${PAIRS:-3}
COUNT=${COUNT:-512}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
# Same thread count everywhere: rayon (candle's gemm split, both tokenizers), OpenMP/MKL (torch);
# ONNX Runtime's intra-op pool gets --threads.
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=true

mkdir -p bench/out
SENTENCES=$PWD/bench/out/embed_sentences.txt  # absolute: `cargo bench` runs in the crate folder
OUT=bench/out/embed_peers.jsonl
python3 bench/embed_reference.py sentences --out "$SENTENCES" --count "$COUNT"
: > "$OUT"

echo "== building the sluice-embed bench (release)" >&2
BIN=$(bench/bin.sh throughput)
# The bench prints nothing else on stdout but the JSON line.
run_sluice() {  # $1: candle | onnx | onnx-int8
  "$BIN" --bench --backend "$1" --input "$SENTENCES" --threads "$THREADS" --batch "$BATCH" --rounds 3 2>/dev/null
}
run_st() {
  python3 bench/embed_reference.py bench \
    --input "$SENTENCES" --threads "$THREADS" --batch "$BATCH" --rounds 3 2>/dev/null
}
echo "== warming the reference venv" >&2
python3 bench/embed_reference.py bench --input "$SENTENCES" --threads "$THREADS" \
  --batch "$BATCH" --rounds 1 >/dev/null

for i in $(seq "$PAIRS"); do
  echo "== pair $i/$PAIRS (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  run_sluice onnx | tee -a "$OUT"
  run_sluice onnx-int8 | tee -a "$OUT"
  run_sluice candle | tee -a "$OUT"
  run_st | tee -a "$OUT"
done

python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["engine"], []).extend(r["sentences_per_s"])
r0 = rows[0]
print(f"\n{r0['sentences']} sentences, ~{r0['mean_tokens']} tokens each, batch {r0['batch']}, "
      f"{r0['threads']} threads")
print(f"{'engine':38} {'median/s':>9} {'min/s':>8} {'max/s':>8} {'vs ST':>6}")
st = statistics.median(by.get("sentence-transformers", [float("nan")]))
for eng, rates in by.items():
    med = statistics.median(rates)
    print(f"{eng:38} {med:9.1f} {min(rates):8.1f} {max(rates):8.1f} {med / st:5.2f}x")
for eng in by:
    last = [r for r in rows if r["engine"] == eng and "last_round_ms" in r]
    if last:
        print(f"{eng} phases, last round (ms):", last[-1]["last_round_ms"])
EOF
