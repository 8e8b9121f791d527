//! sluice-embed against the sentence-transformers reference, and its edge cases.
//!
//! Needs the provisioned model (`make models`; `make test` does it first). The reference
//! vectors in `fixtures/reference.json` come from `bench/embed_reference.py fixture`.

use std::path::PathBuf;
use std::sync::OnceLock;

use sluice_embed::{BertEmbedder, EmbedConfig, EmbedError, Embedder};

fn models_root() -> PathBuf {
    match std::env::var_os("SLUICE_MODELS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
    }
}

fn embedder() -> &'static BertEmbedder {
    static EMBEDDER: OnceLock<BertEmbedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let config = EmbedConfig {
            threads: Some(2),
            ..EmbedConfig::default()
        };
        match BertEmbedder::load_default(&models_root(), &config) {
            Ok(e) => e,
            Err(e) => panic!("{e}\n(these tests need the real model: run `make models`)"),
        }
    })
}

struct Case {
    text: String,
    vector: Vec<f32>,
}

fn reference() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference.json");
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases = json["cases"]
        .as_array()
        .expect("fixture has a `cases` array");
    cases
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().expect("case text").to_owned(),
            vector: c["vector"]
                .as_array()
                .expect("case vector")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect(),
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn norm(a: &[f32]) -> f32 {
    a.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn matches_sentence_transformers_reference() {
    let cases = reference();
    assert!(cases.len() >= 10, "fixture has only {} cases", cases.len());
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let got = embedder().embed(&texts).expect("embed");
    assert_eq!(got.len(), cases.len());
    let mut worst = (f32::INFINITY, "");
    for (case, v) in cases.iter().zip(&got) {
        assert_eq!(v.len(), 384);
        assert_eq!(case.vector.len(), 384);
        let c = cosine(v, &case.vector);
        if c < worst.0 {
            worst = (c, case.text.as_str());
        }
        assert!(
            c >= 0.999,
            "cosine {c} < 0.999 against the reference for {:?}",
            case.text
        );
        assert!((norm(v) - 1.0).abs() < 1e-4, "not unit length: {}", norm(v));
    }
    eprintln!("worst cosine {:.7} for {:?}", worst.0, worst.1);
}

#[test]
fn batching_and_padding_do_not_change_vectors() {
    let cases = reference();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let batched = embedder().embed(&texts).expect("batched");
    for (text, b) in texts.iter().zip(&batched) {
        let alone = embedder().embed(&[text]).expect("alone");
        let c = cosine(&alone[0], b);
        assert!(c > 0.99999, "batched vs alone cosine {c} for {text:?}");
    }
}

#[test]
fn more_texts_than_one_batch_keep_their_order() {
    let texts: Vec<String> = (0..75)
        .map(|i| format!("sentence number {i} {}", "word ".repeat(i % 13)))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let all = embedder().embed(&refs).expect("embed");
    assert_eq!(all.len(), 75);
    for i in [0, 31, 32, 33, 74] {
        let alone = embedder().embed(&[refs[i]]).expect("alone");
        assert!(
            cosine(&alone[0], &all[i]) > 0.99999,
            "text {i} out of place"
        );
    }
}

#[test]
fn edge_inputs_do_not_panic() {
    let e = embedder();
    assert!(e.embed(&[]).expect("empty list").is_empty());

    let empty = e.embed(&[""]).expect("empty string");
    assert_eq!(empty[0].len(), 384);
    assert!(empty[0].iter().all(|x| x.is_finite()));

    // 1 MB of text: truncated to 256 tokens, same vector as its first part.
    let long = "lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(18_000);
    assert!(long.len() > 1_000_000);
    let head: String = long.chars().take(4_000).collect();
    let v = e
        .embed(&[&long, &head, "\u{0}\u{7f}\u{200b}\u{feff}", "🦀"])
        .expect("odd text");
    assert!(v.iter().flatten().all(|x| x.is_finite()));
    assert!(cosine(&v[0], &v[1]) > 0.9999, "truncation differs");
}

#[test]
fn works_through_the_trait_object() {
    let e: &dyn Embedder = embedder();
    assert_eq!(e.dim(), 384);
    assert_eq!(e.model_id(), "all-MiniLM-L6-v2");
    let v = e
        .embed(&[
            "the cat sat on the mat",
            "a cat was sitting on a mat",
            "quarterly tax report",
        ])
        .expect("embed");
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]));
}

#[test]
fn missing_model_says_run_make_models() {
    let tmp = std::env::temp_dir().join(format!("sluice-embed-test-{}", std::process::id()));
    let err =
        BertEmbedder::load(&tmp.join("nope"), &EmbedConfig::default()).expect_err("no folder");
    assert!(matches!(err, EmbedError::ModelDirMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("make models"), "{err}");

    // A folder with config.json but no tokenizer.json names the missing file.
    let dir = tmp.join("all-MiniLM-L6-v2");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let src = models_root().join("all-MiniLM-L6-v2");
    for f in ["config.json", "model.safetensors"] {
        std::fs::write(dir.join(f), b"{}").expect("write");
    }
    let err = BertEmbedder::load(&dir, &EmbedConfig::default()).expect_err("no tokenizer");
    let msg = err.to_string();
    assert!(
        msg.contains("tokenizer.json") && msg.contains("make models"),
        "{msg}"
    );

    // A damaged config.json is reported as such, naming the file.
    std::fs::write(dir.join("tokenizer.json"), b"{}").expect("write");
    std::fs::create_dir_all(dir.join("1_Pooling")).expect("mkdir");
    std::fs::copy(
        src.join("1_Pooling/config.json"),
        dir.join("1_Pooling/config.json"),
    )
    .expect("copy pooling config");
    let err = BertEmbedder::load(&dir, &EmbedConfig::default()).expect_err("bad config");
    assert!(matches!(err, EmbedError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("config.json"), "{err}");
    std::fs::remove_dir_all(&tmp).ok();
}
