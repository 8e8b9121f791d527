//! Integration tests of `sluice-index`: one test binary (each one links LanceDB: a cold-build cost),
//! one module per area.

mod common;
mod crash;
mod embedding_model;
mod index;
