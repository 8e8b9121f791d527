//! What both backends share: tokenising into padded batches, length-sorted batching, and
//! sentence-transformers' mean pooling + L2 normalisation. One copy, so candle and ONNX Runtime
//! see the same token ids and turn hidden states into vectors the same way.

use std::path::Path;

use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy};

use crate::EmbedError;

/// Loads `tokenizer.json` and replaces its built-in padding/truncation (the shipped file
/// truncates and pads to a fixed 128) by: truncate at `max_tokens` (`[CLS]`/`[SEP]`
/// included), pad each batch to its longest member with `[PAD]`.
pub(crate) fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<Tokenizer, EmbedError> {
    let mut tokenizer = Tokenizer::from_file(path).map_err(|source| EmbedError::TokenizerLoad {
        path: path.to_path_buf(),
        source,
    })?;
    let pad_token = "[PAD]";
    let pad_id = tokenizer.token_to_id(pad_token).unwrap_or(0);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_tokens,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            ..TruncationParams::default()
        }))
        .map_err(|source| EmbedError::TokenizerLoad {
            path: path.to_path_buf(),
            source,
        })?;
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        pad_id,
        pad_type_id: 0,
        pad_token: pad_token.to_owned(),
        ..PaddingParams::default()
    }));
    Ok(tokenizer)
}

/// One tokenised batch: row-major `rows × cols` buffers, padded to the longest member.
pub(crate) struct Encoded {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) ids: Vec<u32>,
    pub(crate) type_ids: Vec<u32>,
    pub(crate) mask: Vec<u32>,
}

impl Encoded {
    /// Tokens that are not padding.
    pub(crate) fn real_tokens(&self) -> usize {
        self.mask.iter().filter(|&&m| m != 0).count()
    }
}

/// Tokenises a batch (`encode_batch_fast`: no offsets) into flat buffers.
pub(crate) fn encode(tokenizer: &Tokenizer, batch: &[&str]) -> Result<Encoded, EmbedError> {
    let encodings = tokenizer
        .encode_batch_fast(batch.to_vec(), true)
        .map_err(EmbedError::Tokenize)?;
    let rows = encodings.len();
    let cols = encodings.first().map_or(0, |e| e.len());
    let mut ids = Vec::with_capacity(rows * cols);
    let mut type_ids = Vec::with_capacity(rows * cols);
    let mut mask = Vec::with_capacity(rows * cols);
    for e in &encodings {
        if e.len() != cols {
            return Err(EmbedError::Tokenize(
                format!("batch padding gave rows of {} and {cols} tokens", e.len()).into(),
            ));
        }
        ids.extend_from_slice(e.get_ids());
        type_ids.extend_from_slice(e.get_type_ids());
        mask.extend_from_slice(e.get_attention_mask());
    }
    Ok(Encoded {
        rows,
        cols,
        ids,
        type_ids,
        mask,
    })
}

/// Runs `embed_batch` over `texts` longest first (by bytes, a cheap proxy for tokens) in
/// batches of `batch_size`, so each batch pads little, and returns the vectors in input order.
pub(crate) fn in_sorted_batches(
    texts: &[&str],
    batch_size: usize,
    mut embed_batch: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>, EmbedError>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let vectors = embed_batch(&batch)?;
        for (&i, v) in chunk.iter().zip(vectors) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// Mean over the real tokens, then unit length: `sum(h·m) / max(sum(m), 1e-9)`, then
/// `x / max(|x|, 1e-12)`, exactly sentence-transformers' Pooling and Normalize modules (and
/// what [`crate::BertEmbedder`] computes with candle tensors). `hidden` is `rows × cols × dim`,
/// `mask` is `rows × cols`.
pub(crate) fn mean_pool_normalize(
    hidden: &[f32],
    mask: &[u32],
    rows: usize,
    cols: usize,
    dim: usize,
) -> Vec<Vec<f32>> {
    debug_assert_eq!(hidden.len(), rows * cols * dim);
    debug_assert_eq!(mask.len(), rows * cols);
    (0..rows)
        .map(|r| {
            let mut sum = vec![0f32; dim];
            let mut count = 0f32;
            for c in 0..cols {
                let m = mask[r * cols + c] as f32;
                if m == 0.0 {
                    continue;
                }
                count += m;
                let token = &hidden[(r * cols + c) * dim..][..dim];
                for (s, h) in sum.iter_mut().zip(token) {
                    *s += h * m;
                }
            }
            let count = count.max(1e-9);
            for s in &mut sum {
                *s /= count;
            }
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            for s in &mut sum {
                *s /= norm;
            }
            sum
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mean_pool_normalize;

    #[test]
    fn pooling_skips_padding_and_normalises() {
        // 2 rows × 3 tokens × 2 dims; row 0 has one padding token with huge values.
        let hidden = [
            1.0, 0.0, 3.0, 0.0, 100.0, 100.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0,
        ];
        let mask = [1, 1, 0, 1, 1, 1];
        let v = mean_pool_normalize(&hidden, &mask, 2, 3, 2);
        assert_eq!(v, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn all_padding_gives_zeros_not_nan() {
        let v = mean_pool_normalize(&[1.0, 1.0], &[0], 1, 1, 2);
        assert_eq!(v, vec![vec![0.0, 0.0]]);
    }
}
