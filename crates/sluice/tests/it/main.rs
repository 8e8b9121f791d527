//! Integration tests of the `sluice` binary: one test binary, one module per area.

mod cli;
mod docs_cli;
mod serve_cli;
