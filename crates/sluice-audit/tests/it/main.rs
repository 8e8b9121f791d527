//! Integration tests of `sluice-audit`: one test binary, one module per area.

mod canary;
mod chain;
mod common;
mod crash;
mod query;
