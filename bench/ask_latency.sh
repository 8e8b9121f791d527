#!/usr/bin/env bash
# `sluice ask` end to end on corpora/ (issue 4): the first N questions of
# bench/qa/corpora_qa.toml through the real binary with SmolLM2, one process per question as
# a user runs it; p50 of the breakdown the command reports (retrieval = prompt boundary +
# query embedding + hybrid search + context boundary; first token; total) and of the whole
# process (model and embedder load included). Also checks the right document is cited.
#
#   bench/ask_latency.sh        env: N=20 MAX_TOKENS=128
# Needs `make models`. Results on stdout and bench/out/ask_latency.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
MAX_TOKENS=${MAX_TOKENS:-128}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
cargo build --release --locked --workspace --all-targets -q
BIN=$CARGO_TARGET_DIR/release/sluice
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p bench/out
"$BIN" --data-dir "$TMP" ingest corpora --collection demo >/dev/null
python3 - "$BIN" "$TMP" "$N" "$MAX_TOKENS" <<'PY' | tee bench/out/ask_latency.txt
import json, statistics, subprocess, sys, time, tomllib
bin_, data, n, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
qs = tomllib.load(open("bench/qa/corpora_qa.toml", "rb"))["question"][:n]
rows = []
for q in qs:
    t = time.perf_counter()
    out = subprocess.run([bin_, "--data-dir", data, "ask", q["question"], "--collection", "demo",
                          "--json", "--max-tokens", max_tokens], capture_output=True, text=True)
    wall = (time.perf_counter() - t) * 1e3
    if out.returncode != 0:
        sys.exit(f"{q['id']}: exit {out.returncode}: {out.stderr.strip()[:300]}")
    v = json.loads(out.stdout)
    tm = v["timings_ms"]
    cited = [c["source_path"] for c in v["citations"]]
    rows.append({"retrieval": tm["retrieval_ms"], "first_token": tm.get("first_token_ms") or 0.0,
                 "total": tm["total_ms"], "process": wall,
                 "tokens": v["usage"]["completion_tokens"] if "usage" in v else 0,
                 "hit": q["source"] in cited})
p50 = lambda k: statistics.median(r[k] for r in rows)
print(f"sluice ask on corpora/, {len(rows)} questions, SmolLM2-135M Q4_1, max {max_tokens} tokens")
print(f"p50 ms: retrieval {p50('retrieval'):.0f} | first token (after retrieval) {p50('first_token'):.0f} | "
      f"answer total {p50('total'):.0f} | whole process incl. loading models {p50('process'):.0f}")
print(f"right document among the citations: {sum(r['hit'] for r in rows)}/{len(rows)}")
PY
