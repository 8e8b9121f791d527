//! The int8 variant (`Precision::Int8`) against the f32 ONNX model it is rewritten from: how
//! close the vectors stay, that it is another model id, and that nothing falls back to f32.

use std::path::PathBuf;

use sluice_embed::{
    Backend, BertEmbedder, EmbedConfig, EmbedError, Embedder, OrtEmbedder, OrtFiles, Precision,
    int8_graph, load_default,
};

use crate::onnx::{config, cosine, models_root, onnx, reference};

fn int8_config() -> EmbedConfig {
    EmbedConfig {
        precision: Precision::Int8,
        ..config()
    }
}

/// The fixture's sentences and ~150-word windows of the sample corpus (what ingest embeds).
fn texts() -> (Vec<String>, usize) {
    let mut texts: Vec<String> = reference().into_iter().map(|(t, _)| t).collect();
    let short = texts.len();
    let corpora = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpora/runbooks");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpora)
        .unwrap_or_else(|e| panic!("{}: {e}", corpora.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read corpus file");
        let words: Vec<&str> = text.split_whitespace().collect();
        texts.extend(words.chunks(150).map(|w| w.join(" ")));
    }
    (texts, short)
}

#[test]
fn int8_vectors_stay_close_to_f32() {
    let files = OrtFiles::beside(&models_root().join(BertEmbedder::DEFAULT_MODEL));
    let int8 = OrtEmbedder::load(&files, &int8_config()).expect("int8 model loads");
    let (texts, short) = texts();
    assert!(
        texts.len() > short + 10,
        "too few corpus windows: {}",
        texts.len()
    );
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let a = onnx().embed(&refs).expect("f32");
    let b = int8.embed(&refs).expect("int8");
    let cos: Vec<f32> = a.iter().zip(&b).map(|(x, y)| cosine(x, y)).collect();
    let mean = cos.iter().sum::<f32>() / cos.len() as f32;
    let worst_short = cos[..short].iter().copied().fold(f32::INFINITY, f32::min);
    let worst_long = cos[short..].iter().copied().fold(f32::INFINITY, f32::min);
    eprintln!(
        "int8 vs f32 over {} texts: mean {mean:.4}, worst sentence {worst_short:.4}, worst window {worst_long:.4}",
        cos.len()
    );
    // Measured on this corpus: mean 0.992, windows >= 0.991; the worst are the fixture's
    // degenerate inputs ("", "!!! ??? ...", emoji) at 0.976-0.98.
    assert!(mean >= 0.99, "mean cosine {mean}");
    assert!(worst_long >= 0.98, "a corpus window at cosine {worst_long}");
    assert!(
        worst_short >= 0.97,
        "a fixture sentence at cosine {worst_short}"
    );
    for v in &b {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
    }
    // Another model id: an index built with f32 vectors refuses int8 ones (and back).
    assert_eq!(int8.model_id(), "all-MiniLM-L6-v2-int8");
    assert_eq!(int8.dim(), 384);
}

#[test]
fn every_projection_of_the_pinned_model_is_rewritten() {
    let files = OrtFiles::beside(&models_root().join(BertEmbedder::DEFAULT_MODEL));
    let bytes = std::fs::read(&files.model).expect("run `make models`");
    let g = int8_graph(&bytes).expect("rewrite");
    // 6 layers x (query, key, value, attention output, intermediate, output).
    assert_eq!(g.matmuls, 36);
    // Grows only by the new per-column scales and zero points (~21k columns, 5 bytes each).
    assert!(
        g.model.len() < bytes.len() + 256 * 1024,
        "{} -> {}",
        bytes.len(),
        g.model.len()
    );
    assert_eq!(
        int8_graph(&bytes).expect("again").model,
        g.model,
        "deterministic"
    );
}

#[test]
fn int8_never_falls_back_to_f32() {
    let candle = EmbedConfig {
        backend: Backend::Candle,
        ..int8_config()
    };
    let Err(err) = load_default(&models_root(), &candle) else {
        panic!("candle accepted int8");
    };
    assert!(matches!(err, EmbedError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("ONNX Runtime only"), "{err}");
    let auto = load_default(&models_root(), &int8_config()).expect("auto picks ONNX for int8");
    assert_eq!(auto.model_id(), "all-MiniLM-L6-v2-int8");
    assert_eq!("INT8".parse::<Precision>(), Ok(Precision::Int8));
    assert!("int4".parse::<Precision>().is_err());
}

#[test]
fn a_new_index_gets_int8_only_where_onnx_runtime_runs_it_natively() {
    let dir = models_root().join(BertEmbedder::DEFAULT_MODEL);
    let want = if sluice_embed::int8_is_native() {
        Precision::Int8
    } else {
        Precision::F32
    };
    assert_eq!(Precision::for_new_index(&dir, &config()), want);
    let candle = EmbedConfig {
        backend: Backend::Candle,
        ..config()
    };
    assert_eq!(Precision::for_new_index(&dir, &candle), Precision::F32);
    // No ONNX files beside this folder (it need not exist): candle would run, so f32.
    let lonely = std::env::temp_dir()
        .join(format!("sluice-int8-test-{}", std::process::id()))
        .join(BertEmbedder::DEFAULT_MODEL);
    assert_eq!(Precision::for_new_index(&lonely, &config()), Precision::F32);
    assert_eq!(
        Precision::of_model_id("all-MiniLM-L6-v2-int8"),
        Precision::Int8
    );
    assert_eq!(Precision::of_model_id("all-MiniLM-L6-v2"), Precision::F32);
}
