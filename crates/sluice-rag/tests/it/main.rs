//! Integration tests of `sluice-rag`: one test binary (each test binary links LanceDB, ONNX Runtime
//! and mistral.rs, so every extra one costs a link in CI's cold build), one module per area.

mod adversarial;
mod answer;
mod common;
mod grouped_ingest;
mod pipeline;
mod ports;
