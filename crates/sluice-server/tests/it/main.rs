//! End-to-end tests of the gateway: real servers on 127.0.0.1:0, a reqwest client, the
//! real embedder and LanceDB index with the sample corpus, the echo generator for most
//! tests and the real SmolLM2 for two.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod adversarial;
mod authz;
mod bodies;
mod canary;
mod documents;
mod errors;
mod live_stream;
mod openai;
mod ops;
mod real_model;
mod reload;
mod support;
