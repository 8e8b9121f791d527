//! A deterministic embedder: each lower-cased word adds ±1 to a few hashed dimensions,
//! then the vector is normalised.

use std::hash::{DefaultHasher, Hash, Hasher};

use sluice_ports::{EmbedError, Embedder};

/// Bag-of-words hashing embedder (no model). Texts that share words get a high cosine, texts
/// that share none get about zero, so the index's score floor and ranking behave as with a
/// real model on simple test corpora.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dim: usize,
    model_id: String,
}

impl HashEmbedder {
    /// An embedder of `dim` dimensions (at least 8).
    pub fn new(dim: usize) -> Self {
        Self {
            dim: dim.max(8),
            model_id: format!("sluice-testkit/hash-{}", dim.max(8)),
        }
    }

    fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dim];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
        {
            let word = word.to_lowercase();
            for seed in 0..3u64 {
                let mut h = DefaultHasher::new();
                (seed, word.as_str()).hash(&mut h);
                let bits = h.finish();
                let i = (bits % self.dim as u64) as usize;
                v[i] += if bits >> 63 == 0 { 1.0 } else { -1.0 };
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            // The empty text still gets a valid unit vector, as the real models give one.
            v[0] = 1.0;
        } else {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Default for HashEmbedder {
    fn default() -> Self {
        Self::new(64)
    }
}

impl Embedder for HashEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_ports::cosine;

    #[test]
    fn shared_words_are_similar_and_unrelated_texts_are_not() {
        let e = HashEmbedder::default();
        let v = e
            .embed(&[
                "manual failover of the primary database",
                "how do I fail over the primary database",
                "banana bread recipe with walnuts",
                "",
            ])
            .expect("embeds");
        assert!(cosine(&v[0], &v[1]) > 0.4, "{}", cosine(&v[0], &v[1]));
        assert!(cosine(&v[0], &v[2]).abs() < 0.3, "{}", cosine(&v[0], &v[2]));
        assert!(v.iter().all(|x| x.len() == 64));
        assert!((v[3].iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
