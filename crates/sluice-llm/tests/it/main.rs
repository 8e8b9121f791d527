//! Integration tests of `sluice-llm`: one test binary (each one links mistral.rs: a cold-build
//! cost), one module per area.

mod common;
mod local_model;
mod model_file;
mod openai_upstream;
mod queue;
