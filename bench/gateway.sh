#!/usr/bin/env bash
# Gateway overhead (issue 6): `sluice serve` on loopback with the answer model replaced by the
# echo generator (`llm = { echo = true }`, benchmarking only), audit fsync ON, rate limit off;
# wrk at 64 connections on
#   1. POST /v1/redact                                   (auth + prompt policy + audit)
#   2. POST /v1/chat/completions, "sluice": {"rag": false}  (+ prompt/response boundaries, echo)
#   3. POST /v1/chat/completions over collection `demo`  (+ query embedding + LanceDB hybrid)
# then, with the real SmolLM2 model, time to first token and tokens/s through the gateway
# (SSE, no RAG) beside the generator called directly (examples/llm_bench), same prompts.
#
#   bench/gateway.sh        env: CONNS=64 DURATION=10s PORT=18080 SKIP_ECHO=0 SKIP_MODEL=0
#                           MODEL=<gguf> (default: the Q8_0 copy `make models` writes, as `make run`)
# Needs `make models`, and wrk (apt-get install wrk) unless SKIP_ECHO=1. Results on stdout and bench/out/gateway.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-64}
DURATION=${DURATION:-10s}
PORT=${PORT:-18080}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
MODELS=${SLUICE_MODELS:-$PWD/models}
MODEL=${MODEL:-$MODELS/SmolLM2-135M-Instruct.Q8_0.gguf}
cargo build --release --locked --workspace --all-targets -q
BIN=$CARGO_TARGET_DIR/release/sluice
mkdir -p bench/out
OUT=bench/out/gateway.txt
TMP=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

KEYOUT=$("$BIN" keys new --principal bench --role reader --collections demo)
export SLUICE_KEY=$(grep '^sluice_' <<<"$KEYOUT")
"$BIN" --data-dir "$TMP/data" ingest corpora/handbook corpora/runbooks --collection demo >/dev/null

config() {  # $1 = llm table
  cat <<TOML
version = 1
listen = "127.0.0.1:$PORT"
data_dir = "$TMP/data"
[models]
embedding = "$MODELS/all-MiniLM-L6-v2"
llm = $1
[policy]
dir = "$PWD/policies"
watch = false
[audit]
fsync = true
[limits]
model_concurrency = 64
model_queue = 4096
rate_limit_rps = 0
request_timeout_s = 60
$(sed -n '/^\[\[principal\]\]/,$p' <<<"$KEYOUT")
TOML
}

start() {  # $1 = config file
  rm -f "$TMP/server.err"   # not truncated by the redirect yet when the loop below first looks
  "$BIN" --data-dir "$TMP/data" serve --config "$1" >"$TMP/server.log" 2>"$TMP/server.err" &
  SERVER=$!
  for _ in $(seq 600); do
    grep -qs "Sluice ready on" "$TMP/server.err" && return 0
    kill -0 "$SERVER" 2>/dev/null || { cat "$TMP/server.err" >&2; exit 1; }
    sleep 0.1
  done
  echo "error: the server did not start" >&2; exit 1
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }

cat >"$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SLUICE_KEY")
wrk.body = os.getenv("BODY")
LUA

run() {  # $1 = label, $2 = path, $3 = body
  echo "== $1" | tee -a "$OUT"
  BODY=$3 curl -sf -o /dev/null -X POST "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $SLUICE_KEY" \
    -H 'Content-Type: application/json' -d "$3" || { echo "error: $2 failed" >&2; exit 1; }
  BODY=$3 wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$TMP/post.lua" "http://127.0.0.1:$PORT$2" \
    | grep -E "Requests/sec|Non-2xx|Socket errors| 50%| 90%| 99%|requests in" | tee -a "$OUT"
}

{ echo "# bench/gateway.sh $(date -u +%FT%TZ) on $(nproc) cores, $CONNS connections, $DURATION each, audit fsync on"; } | tee "$OUT"
if [ "${SKIP_ECHO:-0}" != 1 ]; then
command -v wrk >/dev/null || { echo "error: wrk not found (apt-get install wrk)" >&2; exit 2; }
config '{ echo = true }' >"$TMP/echo.toml"
start "$TMP/echo.toml"
run "POST /v1/redact" /v1/redact \
  '{"text":"Call Dana at dana.whitfield@example.com or +1 415 555 0100 about invoice 4471.","boundary":"prompt"}'
run "POST /v1/chat/completions (echo, no RAG)" /v1/chat/completions \
  '{"model":"sluice","messages":[{"role":"user","content":"Summarise our travel policy for dana.whitfield@example.com"}],"max_tokens":32,"sluice":{"rag":false}}'
run "POST /v1/chat/completions (echo, RAG over demo: query embedding + hybrid search)" /v1/chat/completions \
  '{"model":"sluice:demo","messages":[{"role":"user","content":"How do we fail over the primary database?"}],"max_tokens":32}'
echo "audit records written: $(cat "$TMP"/data/audit/*.jsonl 2>/dev/null | wc -l)" | tee -a "$OUT"
stop
fi

[ "${SKIP_MODEL:-0}" = 1 ] && exit 0
[ -f "$MODEL" ] || { echo "error: $MODEL is missing: run \`make models\`" >&2; exit 2; }
echo "== real model ($(basename "$MODEL")): direct generator vs through the gateway (SSE, no RAG)" | tee -a "$OUT"
PROMPTS=$PWD/bench/out/llm_prompts.json
python3 bench/llm_peers.py prompts --out "$PROMPTS"
"$(bench/bin.sh llm_bench 2>/dev/null)" --model "$MODEL" \
  --prompts "$PROMPTS" --max-tokens 64 2>/dev/null >"$TMP/direct.json"
config "{ gguf = \"$MODEL\" }" >"$TMP/model.toml"
start "$TMP/model.toml"
python3 bench/gateway_stream.py "http://127.0.0.1:$PORT" "$PROMPTS" "$TMP/direct.json" | tee -a "$OUT"
stop
