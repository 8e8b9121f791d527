//! Integration tests of `sluice-policy`: one test binary, one module per area.

mod corpora;
mod engine;
mod evasion;
mod import;
mod snapshots;
mod streaming;
mod support;
