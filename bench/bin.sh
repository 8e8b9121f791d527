#!/usr/bin/env bash
# Prints the path of a bench or example executable from the workspace release build,
# building first (a no-op after `make build`). Always the whole workspace with every target:
# a `-p CRATE` or `cargo bench` build unifies features (or the profile) differently and
# rebuilds lancedb / datafusion / mistral.rs from scratch.
#
#   bench/bin.sh NAME        e.g. bench/bin.sh retrieval; "$(bench/bin.sh throughput)" --help
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
name=${1:?usage: bench/bin.sh NAME}
cargo build --release --locked --workspace --all-targets --message-format=json-render-diagnostics \
  | python3 -c '
import json, sys
name = sys.argv[1]
hits = []
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    t = m.get("target") or {}
    if m.get("reason") == "compiler-artifact" and m.get("executable") and t.get("name") == name \
            and set(t.get("kind", [])) & {"bench", "example"}:
        hits.append(m["executable"])
if len(hits) != 1:
    sys.exit(f"bench/bin.sh: {len(hits)} bench/example targets named {name!r}")
print(hits[0])
' "$name"
