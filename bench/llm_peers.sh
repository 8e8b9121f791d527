#!/usr/bin/env bash
# Local generation: sluice-llm (mistral.rs) beside llama.cpp (llama-cpp-python), same GGUF,
# same prompts (bench/llm_peers.py), greedy, same thread count, runs interleaved so that
# background load hits both alike.
#
#   bench/llm_peers.sh     env: THREADS=2 PAIRS=3 MAX_TOKENS=64 MODEL=<gguf>
#
# Needs `make models`; the first run builds llama-cpp-python from source in a venv (see
# bench/llm_peers.py; several minutes). Results: one JSON line per run in
# bench/out/llm_peers.jsonl, and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
PAIRS=${PAIRS:-3}
MAX_TOKENS=${MAX_TOKENS:-64}
MODEL=${MODEL:-${SLUICE_MODELS:-$PWD/models}/SmolLM2-135M-Instruct.Q4_1.gguf}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
# candle (mistral.rs's kernels) reads RAYON_NUM_THREADS; llama.cpp gets --threads.
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

[ -f "$MODEL" ] || { echo "error: $MODEL is missing: run \`make models\`" >&2; exit 2; }
mkdir -p bench/out
PROMPTS=$PWD/bench/out/llm_prompts.json
OUT=bench/out/llm_peers.jsonl
python3 bench/llm_peers.py prompts --out "$PROMPTS"
: > "$OUT"

echo "== building the sluice-llm bench (release)" >&2
BIN=$(bench/bin.sh llm_bench)   # the workspace build: no separate feature set to compile

run_sluice() { "$BIN" --model "$MODEL" --prompts "$PROMPTS" --max-tokens "$MAX_TOKENS" 2>/dev/null; }
run_llama() {
  python3 bench/llm_peers.py bench --model "$MODEL" --prompts "$PROMPTS" \
    --threads "$THREADS" --max-tokens "$MAX_TOKENS" 2>/dev/null
}
echo "== preparing llama-cpp-python (the first time builds it)" >&2
python3 bench/llm_peers.py bench --model "$MODEL" --prompts "$PROMPTS" --threads "$THREADS" \
  --max-tokens 4 >/dev/null

for i in $(seq "$PAIRS"); do
  echo "== pair $i/$PAIRS (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  run_sluice | tee -a "$OUT" >/dev/null
  run_llama | tee -a "$OUT" >/dev/null
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 bench/llm_peers.py table "$OUT"
