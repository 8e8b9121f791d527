//! Integration tests of `sluice-embed`: one test binary (each one links ONNX Runtime and candle:
//! a cold-build cost), one module per area.

mod int8;
mod onnx;
mod reference;
