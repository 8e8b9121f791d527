#!/usr/bin/env bash
# Detection bench: per-entity precision / recall / F1, totals and the false-positive rate of the
# policy folder on the labelled sets in this directory (see README.md here and docs/detection.md).
#
#   bench/detect/run.sh                      # policies/ at the context boundary
#   POLICY=my-policies BOUNDARY=ingest bench/detect/run.sh
#   bench/detect/run.sh --verbose            # also list the line numbers of misses and false positives
#
# Runs the light `sluice-policy` crate's `detect_eval` example (no CLI build). With a built CLI
# (SLUICE_BIN, default $HOME/.cache/sluice/target/release/sluice) it also prints the same tables
# as `sluice eval policy` computes them (all categories), as a cross-check.
set -euo pipefail
cd "$(dirname "$0")/../.."
POLICY=${POLICY:-policies}
BOUNDARY=${BOUNDARY:-context}
SETS=(bench/detect/pii.jsonl bench/detect/holdout_pii.jsonl bench/detect/secrets.jsonl bench/detect/holdout_secrets.jsonl bench/detect/person.jsonl bench/detect/holdout_person.jsonl bench/detect/holdout_person2.jsonl)
# Each set is scored on its own category's findings: the secrets set is not charged for the URL
# or the date in a curl line, the PII set not for a token.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target} \
  cargo run -q --locked -p sluice-policy --example detect_eval -- \
  --policy "$POLICY" --boundary "$BOUNDARY" "$@" \
  --category pii bench/detect/pii.jsonl bench/detect/holdout_pii.jsonl \
  --category secret bench/detect/secrets.jsonl bench/detect/holdout_secrets.jsonl \
  --category pii bench/detect/person.jsonl bench/detect/holdout_person.jsonl bench/detect/holdout_person2.jsonl
BIN=${SLUICE_BIN:-$HOME/.cache/sluice/target/release/sluice}
if [[ -x "$BIN" && "${CROSS_CHECK:-1}" == 1 ]]; then
  for s in "${SETS[@]}"; do
    echo "== $s (sluice eval policy)"
    "$BIN" eval policy --cases "$s" --policy "$POLICY" --boundary "$BOUNDARY" | tail -n 3
  done
fi
