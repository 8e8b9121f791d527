#!/usr/bin/env bash
# Ingest at scale, end to end with the default config: a generated corpus (bench/gen_corpus.py
# --docs, default 100MB of Markdown with planted PII and secrets) through `sluice ingest`
# (extract → ingest policy → chunk → embed → LanceDB, the index refresh included), then
# hybrid search latency over the index it built (query embedding included).
#
#   bench/ingest_scale.sh [SIZE=100MB]        e.g. bench/ingest_scale.sh 10MB
#
# Prints files, chunks, MB/s, chunks/s, wall time and peak RSS of the ingest, then search
# p50/p99. Work files go to $SLUICE_BENCH_DIR (default: a new temporary folder, kept so the
# index can be searched again); RESUME=1 with the same folder finishes an interrupted run
# (the figures are then those of the remainder). Needs `make models` and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-100MB}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
work=${SLUICE_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"

make -s build >/dev/null
bin=$CARGO_TARGET_DIR/release/sluice
[ -d "$work/gen/docs" ] || python3 bench/gen_corpus.py --size "$size" --out "$work/gen" --docs
# RESUME=1 keeps an interrupted run's index: ingest skips the documents it already holds.
[ "${RESUME:-0}" = 1 ] || rm -rf "$work/data"
echo "== ingest $size ($(find "$work/gen/docs" -name '*.md' | wc -l) files) into $work/data"
# Exit 1 only means some files failed (a planted private key blocks its document): reported.
/usr/bin/time -v "$bin" --data-dir "$work/data" ingest "$work/gen/docs" -c bench --json \
  >"$work/ingest.jsonl" 2>"$work/time.txt" || true
python3 - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
last = json.loads(open(f"{work}/ingest.jsonl").read().strip().splitlines()[-1])
s, ix = last["summary"], last["index"]
t = open(f"{work}/time.txt").read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", t).group(1)
files = s["added"] + s["updated"] + s["unchanged"] + s["failed"]
print(f"files {files} (added {s['added']}, failed {s['failed']}), chunks {s['chunks']}, "
      f"{s['bytes']/1e6:.1f} MB in {s['seconds']:.1f} s: {s['bytes']/1e6/s['seconds']:.3f} MB/s, "
      f"{s['chunks']/s['seconds']:.1f} chunks/s; index refresh {ix['refresh_seconds']:.1f} s "
      f"(vector index: {ix['vector_index']}, segments per index: {ix.get('index_segments', 1)}); "
      f"wall {wall}; peak RSS {rss/1024:.0f} MiB")
PY
echo "== hybrid search over the ingested index"
SLUICE_BENCH_SEARCH_INDEX="$work/data/lancedb" SLUICE_BENCH_SEARCH_COLLECTION=bench \
  "$(bench/bin.sh retrieval)"
