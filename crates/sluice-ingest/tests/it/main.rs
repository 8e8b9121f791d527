//! Integration tests of `sluice-ingest`: one test binary, one module per area.

mod common;
mod extract;
mod hostile;
mod robustness;
