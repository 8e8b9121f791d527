//! A wrong model file is a clear `ModelFile` error before mistral.rs sees it.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use sluice_llm::{LlmError, LocalModelConfig, MistralRsGenerator};

async fn load_err(path: &std::path::Path) -> String {
    match MistralRsGenerator::load(LocalModelConfig::new(path)).await {
        Err(LlmError::ModelFile { path: p, reason }) => {
            assert_eq!(p, path);
            reason
        }
        Err(other) => panic!("expected ModelFile, got {other}"),
        Ok(_) => panic!("loaded a bad file"),
    }
}

fn gguf_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A GGUF v3 header with no tensors and one key: `general.architecture = arch`.
fn tiny_gguf(arch: &str) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    gguf_string(&mut b, "general.architecture");
    b.extend_from_slice(&8u32.to_le_bytes()); // string
    gguf_string(&mut b, arch);
    b
}

fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".gguf").tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn not_gguf() {
    let f = file_with(b"hello, I am a text file\n");
    let reason = load_err(f.path()).await;
    assert!(reason.contains("not a GGUF file"), "{reason}");
    let f = file_with(b"GG");
    assert!(load_err(f.path()).await.contains("not a GGUF file"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_architecture() {
    let f = file_with(&tiny_gguf("gemma3"));
    let reason = load_err(f.path()).await;
    assert!(
        reason.contains("unsupported architecture gemma3"),
        "{reason}"
    );
    let err = MistralRsGenerator::load(LocalModelConfig::new(f.path()))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("unsupported architecture gemma3"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_truncated_and_odd_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gguf");
    assert!(load_err(&missing).await.contains("not found"));
    assert!(load_err(dir.path()).await.contains("directory"));

    let full = tiny_gguf("llama");
    let f = file_with(&full[..full.len() - 3]);
    assert!(load_err(f.path()).await.contains("truncated"));

    let mut v1 = tiny_gguf("llama");
    v1[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(load_err(file_with(&v1).path()).await.contains("version 1"));

    // A huge claimed string length is refused, not allocated.
    let mut huge = b"GGUF".to_vec();
    huge.extend_from_slice(&3u32.to_le_bytes());
    huge.extend_from_slice(&0u64.to_le_bytes());
    huge.extend_from_slice(&1u64.to_le_bytes());
    huge.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        load_err(file_with(&huge).path())
            .await
            .contains("bytes long")
    );

    let mut no_arch = b"GGUF".to_vec();
    no_arch.extend_from_slice(&3u32.to_le_bytes());
    no_arch.extend_from_slice(&[0u8; 16]);
    assert!(
        load_err(file_with(&no_arch).path())
            .await
            .contains("general.architecture")
    );
}
