//! Cited passages: the sentences of the retrieved sources that best answer the question,
//! chosen before (or instead of) the model. A user gets a quoted, cited answer within the
//! retrieval time; on a CPU-only host the extractive mode is the whole answer.
//!
//! Scoring is lexical first (question terms a sentence contains, weighted by how rare they
//! are among the candidate sentences, plus its source's rank), then the best few are
//! re-ranked by embedding similarity to the question when an embedder is at hand. The text
//! has already passed the context boundary: passages are cut from redacted chunks.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Serialize;

use crate::search::SearchHit;

/// Passages returned by default.
pub const DEFAULT_PASSAGES: usize = 3;

/// Sentences re-ranked by embedding similarity (the lexical shortlist).
pub(crate) const SHORTLIST: usize = 8;

/// One quoted sentence (or short run of sentences) with its source.
#[derive(Debug, Clone, Serialize)]
pub struct Passage {
    /// The text, after the context boundary.
    pub text: String,
    /// Its source number among the answer's citations (`[n]`).
    pub n: usize,
    /// The source path (after the context boundary).
    pub source_path: String,
    /// The heading path of its chunk.
    pub heading_path: String,
    /// Byte span of the chunk that holds it, in the source.
    pub span: Range<u64>,
    /// How well it answers the question (higher is better; comparable within one answer).
    pub score: f32,
}

/// A candidate sentence.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub text: String,
    /// Index of its source in the hits.
    pub hit: usize,
    /// Its position among its source's sentences.
    pub pos: usize,
    pub lexical: f32,
}

/// Candidates with their final score, best first ([`rank`]).
pub(crate) type Ranked = Vec<(Candidate, f32)>;

/// Words of at least two letters or digits, lower-cased, minus stop words.
pub(crate) fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

/// Splits a chunk into sentences: at `.`/`!`/`?` followed by whitespace, and at line
/// breaks (list items and table rows are sentences of their own). Markdown list and
/// heading markers are dropped; fragments shorter than 12 characters are merged forward.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut carry = String::new();
    for line in text.lines() {
        let line = line
            .trim()
            .trim_start_matches(['#', '-', '*', '>', '|'])
            .trim();
        if line.is_empty() {
            continue;
        }
        let mut start = 0;
        let b = line.as_bytes();
        for i in 0..b.len() {
            let end_mark = matches!(b[i], b'.' | b'!' | b'?');
            let next_space = b.get(i + 1).is_none_or(|c| c.is_ascii_whitespace());
            if end_mark && next_space {
                push_sentence(&mut out, &mut carry, &line[start..=i]);
                start = i + 1;
            }
        }
        if start < line.len() {
            push_sentence(&mut out, &mut carry, &line[start..]);
        }
    }
    if !carry.is_empty() {
        match out.last_mut() {
            Some(last) => {
                last.push(' ');
                last.push_str(&carry);
            }
            None => out.push(carry),
        }
    }
    out
}

fn push_sentence(out: &mut Vec<String>, carry: &mut String, s: &str) {
    let s = s.trim();
    if s.is_empty() {
        return;
    }
    if !carry.is_empty() {
        carry.push(' ');
    }
    carry.push_str(s);
    if carry.chars().count() >= 12 {
        out.push(std::mem::take(carry));
    }
}

/// The lexical shortlist: every sentence of `hits` scored by the rarity-weighted share of
/// question terms it contains, plus a small prior for higher-ranked sources.
pub(crate) fn shortlist(question: &str, hits: &[SearchHit], max: usize) -> Vec<Candidate> {
    let q: HashSet<String> = terms(question).into_iter().collect();
    let mut cands: Vec<(Candidate, HashSet<String>)> = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        for (pos, s) in sentences(&h.text).into_iter().enumerate() {
            let t: HashSet<String> = terms(&s).into_iter().collect();
            cands.push((
                Candidate {
                    text: s,
                    hit: i,
                    pos,
                    lexical: 0.0,
                },
                t,
            ));
        }
    }
    if cands.is_empty() {
        return Vec::new();
    }
    // Document frequency of each question term among the candidates.
    let mut df: HashMap<&str, usize> = HashMap::new();
    for (_, t) in &cands {
        for w in q.iter().filter(|w| t.contains(*w)) {
            *df.entry(w.as_str()).or_insert(0) += 1;
        }
    }
    let n = cands.len() as f32;
    let idf = |w: &str| (1.0 + n / (1.0 + *df.get(w).unwrap_or(&0) as f32)).ln();
    let total: f32 = q.iter().map(|w| idf(w)).sum::<f32>().max(f32::EPSILON);
    for (c, t) in &mut cands {
        let matched: f32 = q.iter().filter(|w| t.contains(*w)).map(|w| idf(w)).sum();
        let prior = 0.1 / (1.0 + c.hit as f32);
        c.lexical = matched / total + prior;
    }
    let mut out: Vec<Candidate> = cands.into_iter().map(|(c, _)| c).collect();
    out.sort_by(|a, b| b.lexical.total_cmp(&a.lexical));
    out.truncate(max);
    out
}

/// The sentences of `hits` (already through the context boundary) that best answer
/// `question`, best first: the lexical shortlist of `shortlist` sentences, re-ranked by
/// embedding similarity to `question_vec` when one is given (half lexical, half cosine).
pub(crate) async fn rank(
    searcher: &crate::search::Searcher,
    question: &str,
    question_vec: &[f32],
    hits: &[SearchHit],
    shortlist_len: usize,
) -> Result<Ranked, crate::AnswerError> {
    let short = shortlist(question, hits, shortlist_len);
    if short.is_empty() {
        return Ok(Vec::new());
    }
    let mut scored: Ranked = if question_vec.is_empty() {
        short
            .into_iter()
            .map(|c| {
                let s = c.lexical;
                (c, s)
            })
            .collect()
    } else {
        let top = short.first().map_or(1.0, |c| c.lexical).max(f32::EPSILON);
        let vectors = searcher
            .embed_batch(short.iter().map(|c| c.text.clone()).collect())
            .await?;
        short
            .into_iter()
            .zip(vectors)
            .map(|(c, v)| {
                let s = 0.5 * (c.lexical / top) + 0.5 * sluice_ports::cosine(question_vec, &v);
                (c, s)
            })
            .collect()
    };
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(scored)
}

/// The final passages: the best of `scored` (candidate, combined score, best first as
/// [`rank`] returns them) from the first `sources` hits, at most `max`, one per distinct
/// text, numbered by their source's position in `hits`.
pub(crate) fn finish(
    scored: &[(Candidate, f32)],
    hits: &[SearchHit],
    sources: usize,
    max: usize,
) -> Vec<Passage> {
    let mut seen = HashSet::new();
    scored
        .iter()
        .filter(|(c, _)| c.hit < sources && seen.insert(c.text.as_str()))
        .take(max)
        .map(|(c, score)| {
            let h = &hits[c.hit];
            Passage {
                text: c.text.clone(),
                n: c.hit + 1,
                source_path: h.source_path.clone(),
                heading_path: h.heading_path.clone(),
                span: h.span.clone(),
                score: *score,
            }
        })
        .collect()
}

/// Function words that say nothing about what a sentence is about.
const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "by", "with", "from", "is",
    "are", "was", "were", "be", "been", "do", "does", "did", "we", "our", "us", "you", "your",
    "it", "its", "this", "that", "these", "those", "what", "which", "who", "whom", "how", "when",
    "where", "why", "can", "could", "should", "would", "will", "shall", "may", "must", "have",
    "has", "had", "if", "as", "so", "than", "then", "there", "their", "they", "them", "i", "me",
    "my", "am", "not", "no", "any", "all", "some", "into", "about", "after", "before", "over",
    "under", "up", "out", "get", "gets",
];

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hit with `text` at `path` (shared with the prompt tests).
    pub(crate) fn hit(text: &str, path: &str) -> SearchHit {
        SearchHit {
            chunk_id: format!("{path}:0"),
            doc_id: path.into(),
            collection: "c".into(),
            source_path: path.into(),
            span: 0..text.len() as u64,
            heading_path: String::new(),
            text: text.into(),
            score: 1.0,
            similarity: None,
        }
    }

    #[test]
    fn sentences_split_on_marks_lines_and_lists() {
        let s = sentences(
            "# Failover\n\n- Promote the replica.\n- Repoint the VIP at the new primary. Then check lag!\nok",
        );
        assert_eq!(
            s,
            vec![
                "Failover Promote the replica.",
                "Repoint the VIP at the new primary.",
                "Then check lag! ok",
            ]
        );
        assert!(sentences("").is_empty());
        // Decimal points and versions are not sentence ends.
        assert_eq!(
            sentences("Version 2.5 ships on Monday for everyone.").len(),
            1
        );
    }

    #[test]
    fn the_sentence_with_the_rare_question_terms_wins() {
        let hits = vec![
            hit(
                "Backups run nightly. Base backups are retained for 35 days in the vault.",
                "runbooks/backup.md",
            ),
            hit("The database team owns backups and restores.", "teams.md"),
        ];
        let top = shortlist("How long are base backups retained?", &hits, 3);
        assert!(top[0].text.contains("35 days"), "{:?}", top[0].text);
        let scored: Ranked = top
            .into_iter()
            .map(|c| {
                let s = c.lexical;
                (c, s)
            })
            .collect();
        let p = finish(&scored, &hits, hits.len(), 2);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].n, 1);
        assert_eq!(p[0].source_path, "runbooks/backup.md");
    }
}
