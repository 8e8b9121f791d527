//! Reads a GGUF file's header (its key/value metadata) without loading the model, so
//! that a wrong file fails with a clear [`crate::LlmError::ModelFile`] before mistral.rs sees it,
//! and so that the context length and the tokenizer come from the file itself.
//!
//! The format: magic `GGUF`, a `u32` version (2 and 3 use 64-bit counts; 1 is not
//! supported), `u64` tensor count, `u64` key/value count, then the key/value pairs, all
//! little-endian. Every length read from the file is bounded before it is used, so a
//! corrupt or hostile file costs at most a bounded read, never a huge allocation or a panic.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{NormalizerWrapper, Prepend, Replace, Sequence as NormSequence};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::tokenizer::normalizer::SplitDelimiterBehavior;
use tokenizers::{AddedToken, ModelWrapper, Tokenizer};

/// Architectures mistral.rs 0.8.1 can run from GGUF (`mistralrs-core/src/pipeline/gguf.rs`).
pub(crate) const SUPPORTED_ARCHITECTURES: &[&str] = &[
    "llama",
    "mistral3",
    "phi2",
    "phi3",
    "starcoder2",
    "qwen2",
    "qwen3",
    "qwen3moe",
];

const MAX_KV: u64 = 1 << 16;
const MAX_STRING: u64 = 16 << 20;
const MAX_ARRAY: u64 = 1 << 24;
const MAX_TOKEN_BYTES: u64 = 1 << 16;

/// The metadata Sluice uses from a GGUF header.
#[derive(Debug, Default)]
pub(crate) struct GgufHeader {
    /// `general.architecture`, lower-cased.
    pub architecture: String,
    /// `<architecture>.context_length`, if present.
    pub context_length: Option<u64>,
    /// `tokenizer.ggml.*` arrays and ids.
    pub tokenizer: TokenizerMeta,
}

/// The `tokenizer.ggml.*` entries needed to rebuild the tokenizer.
#[derive(Debug, Default)]
pub(crate) struct TokenizerMeta {
    model: Option<String>,
    tokens: Vec<String>,
    merges: Vec<String>,
    scores: Vec<f32>,
    token_types: Vec<i32>,
    unk: Option<u32>,
}

enum Scalar {
    Uint(u64),
    Int(i64),
    Str(String),
    Other,
}

struct R<T: Read> {
    inner: T,
}

impl<T: Read> R<T> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(io_reason)?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn string(&mut self, max: u64) -> Result<String, String> {
        let len = self.u64()?;
        if len > max {
            return Err(format!(
                "a metadata string is {len} bytes long (limit {max})"
            ));
        }
        let mut buf = Vec::new();
        (&mut self.inner)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(io_reason)?;
        if buf.len() as u64 != len {
            return Err(TRUNCATED.into());
        }
        // Token strings may hold invalid UTF-8 (byte tokens); keep them lossily.
        Ok(String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
    fn skip(&mut self, n: u64) -> Result<(), String> {
        let copied = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(io_reason)?;
        if copied != n {
            Err(TRUNCATED.into())
        } else {
            Ok(())
        }
    }
    fn scalar(&mut self, ty: u32) -> Result<Scalar, String> {
        Ok(match ty {
            0 => Scalar::Uint(u64::from(self.bytes::<1>()?[0])),
            1 => Scalar::Int(i64::from(i8::from_le_bytes(self.bytes()?))),
            2 => Scalar::Uint(u64::from(u16::from_le_bytes(self.bytes()?))),
            3 => Scalar::Int(i64::from(i16::from_le_bytes(self.bytes()?))),
            4 => Scalar::Uint(u64::from(self.u32()?)),
            5 => Scalar::Int(i64::from(i32::from_le_bytes(self.bytes()?))),
            6 | 7 | 12 => {
                self.skip(fixed_size(ty).unwrap_or(0))?;
                Scalar::Other
            }
            8 => Scalar::Str(self.string(MAX_STRING)?),
            10 => Scalar::Uint(self.u64()?),
            11 => Scalar::Int(i64::from_le_bytes(self.bytes()?)),
            other => return Err(format!("unknown metadata value type {other}")),
        })
    }
    /// Skips an array body (element type and count already read).
    fn skip_array(&mut self, ty: u32, count: u64, depth: u8) -> Result<(), String> {
        if let Some(size) = fixed_size(ty) {
            return self.skip(size.saturating_mul(count));
        }
        for _ in 0..count {
            match ty {
                8 => {
                    let len = self.u64()?;
                    if len > MAX_STRING {
                        return Err(format!("a metadata string is {len} bytes long"));
                    }
                    self.skip(len)?;
                }
                9 if depth < 2 => {
                    let (t, n) = (self.u32()?, self.u64()?);
                    check_count(n)?;
                    self.skip_array(t, n, depth + 1)?;
                }
                other => return Err(format!("unsupported metadata array of type {other}")),
            }
        }
        Ok(())
    }
}

const TRUNCATED: &str = "the file ends inside its GGUF header (truncated download?)";

fn io_reason(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        TRUNCATED.into()
    } else {
        format!("read error: {e}")
    }
}

fn fixed_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

fn check_count(n: u64) -> Result<(), String> {
    if n > MAX_ARRAY {
        Err(format!(
            "a metadata array has {n} elements (limit {MAX_ARRAY})"
        ))
    } else {
        Ok(())
    }
}

/// Reads and checks the header of the GGUF file at `path`. The error is the reason the
/// file cannot be used, for [`crate::LlmError::ModelFile`].
pub(crate) fn read_header(path: &Path) -> Result<GgufHeader, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "file not found (run `make models`?)".to_string(),
        _ => format!("cannot read it: {e}"),
    })?;
    if meta.is_dir() {
        return Err("is a directory; expected a .gguf file".into());
    }
    let file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut r = R {
        inner: BufReader::with_capacity(1 << 16, file),
    };

    let magic: [u8; 4] = r
        .bytes()
        .map_err(|_| "not a GGUF file (shorter than a GGUF header)".to_string())?;
    if &magic != b"GGUF" {
        return Err("not a GGUF file (it does not start with the magic bytes \"GGUF\")".into());
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(format!(
            "GGUF version {version} is not supported (expected 2 or 3)"
        ));
    }
    let _tensors = r.u64()?;
    let kv_count = r.u64()?;
    if kv_count > MAX_KV {
        return Err(format!(
            "the header claims {kv_count} metadata entries (limit {MAX_KV})"
        ));
    }

    let mut scalars: HashMap<String, Scalar> = HashMap::new();
    let mut tok = TokenizerMeta::default();
    for _ in 0..kv_count {
        let key = r.string(1 << 16)?;
        let ty = r.u32()?;
        if ty != 9 {
            let v = r.scalar(ty)?;
            scalars.insert(key, v);
            continue;
        }
        let (elem, count) = (r.u32()?, r.u64()?);
        check_count(count)?;
        match (key.as_str(), elem) {
            ("tokenizer.ggml.tokens", 8) => tok.tokens = read_strings(&mut r, count)?,
            ("tokenizer.ggml.merges", 8) => tok.merges = read_strings(&mut r, count)?,
            ("tokenizer.ggml.scores", 6) => {
                tok.scores = (0..count)
                    .map(|_| r.bytes().map(f32::from_le_bytes))
                    .collect::<Result<_, _>>()?;
            }
            ("tokenizer.ggml.token_type", 5) => {
                tok.token_types = (0..count)
                    .map(|_| r.bytes().map(i32::from_le_bytes))
                    .collect::<Result<_, _>>()?;
            }
            _ => r.skip_array(elem, count, 0)?,
        }
    }

    let architecture = match scalars.get("general.architecture") {
        Some(Scalar::Str(s)) => s.to_ascii_lowercase(),
        _ => return Err("the GGUF header has no general.architecture".into()),
    };
    let context_length = match scalars.get(&format!("{architecture}.context_length")) {
        Some(Scalar::Uint(n)) => Some(*n),
        Some(Scalar::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    };
    if let Some(Scalar::Str(m)) = scalars.get("tokenizer.ggml.model") {
        tok.model = Some(m.clone());
    }
    if let Some(Scalar::Uint(n)) = scalars.get("tokenizer.ggml.unknown_token_id") {
        tok.unk = u32::try_from(*n).ok();
    }
    Ok(GgufHeader {
        architecture,
        context_length,
        tokenizer: tok,
    })
}

fn read_strings<T: Read>(r: &mut R<T>, count: u64) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(usize::try_from(count.min(1 << 20)).unwrap_or(0));
    for _ in 0..count {
        out.push(r.string(MAX_TOKEN_BYTES)?);
    }
    Ok(out)
}

/// Checks that mistral.rs can run the header's architecture.
pub(crate) fn check_architecture(h: &GgufHeader) -> Result<(), String> {
    if SUPPORTED_ARCHITECTURES.contains(&h.architecture.as_str()) {
        Ok(())
    } else {
        Err(format!(
            "unsupported architecture {} (the local backend runs {})",
            h.architecture,
            SUPPORTED_ARCHITECTURES.join(", ")
        ))
    }
}

/// Rebuilds the model's tokenizer from the header, the way mistral.rs does
/// (`mistralrs-core/src/gguf/gguf_tokenizer.rs`): byte-level BPE for `gpt2`, unigram
/// for `llama`. `None` for other tokenizer models or incomplete metadata; the caller
/// then estimates.
pub(crate) fn build_tokenizer(meta: &TokenizerMeta) -> Option<Tokenizer> {
    let mut tokenizer = match meta.model.as_deref()? {
        "gpt2" => {
            if meta.tokens.is_empty() || meta.merges.is_empty() {
                return None;
            }
            let vocab: Vocab = meta
                .tokens
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((t.clone(), u32::try_from(i).ok()?)))
                .collect();
            let merges = meta
                .merges
                .iter()
                .filter_map(|m| {
                    m.split_once(' ')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
                .collect();
            let bpe = BPE::builder()
                .vocab_and_merges(vocab, merges)
                .build()
                .ok()?;
            let mut t = Tokenizer::new(ModelWrapper::BPE(bpe));
            let split = Split::new(
                SplitPattern::Regex(
                    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
                        .to_string(),
                ),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .ok()?;
            t.with_pre_tokenizer(Some(PreSequence::new(vec![
                PreTokenizerWrapper::Split(split),
                PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
            ])));
            t
        }
        "llama" => {
            if meta.tokens.is_empty() || meta.scores.len() != meta.tokens.len() {
                return None;
            }
            let vocab = meta
                .tokens
                .iter()
                .cloned()
                .zip(meta.scores.iter().map(|s| f64::from(*s)))
                .collect();
            let unk = meta.unk.map_or(0, |u| u as usize);
            let model = Unigram::from(vocab, Some(unk), true).ok()?;
            let mut t = Tokenizer::new(ModelWrapper::Unigram(model));
            let replace = Replace::new(" ", "▁").ok()?;
            t.with_normalizer(Some(NormSequence::new(vec![
                NormalizerWrapper::Prepend(Prepend::new("▁".to_string())),
                NormalizerWrapper::Replace(replace),
            ])));
            t
        }
        _ => return None,
    };
    // Control tokens (type != 1, e.g. `<|im_start|>`) count as one token when they appear.
    if meta.token_types.len() == meta.tokens.len() {
        let special: Vec<AddedToken> = meta
            .tokens
            .iter()
            .zip(&meta.token_types)
            .filter(|(_, ty)| **ty != 1)
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        tokenizer.add_special_tokens(&special);
    }
    Some(tokenizer)
}
