//! Scoring: pure functions over one recorded run ([`QuestionRun`]) and its Q&A entry, and the
//! aggregate [`Summary`] of one setting (model × k × mode).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::format::{EvalSet, Fact, GoldSource};
use crate::leak::{LeakDetector, LeakHit};

/// Which section of the Q&A file a run answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// `[[question]]`.
    #[default]
    Answerable,
    /// `[[off_topic]]`.
    OffTopic,
    /// `[[adversarial]]`.
    Adversarial,
}

/// A source the answer path put in front of the model, numbered as in the answer's `[n]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitedSource {
    /// The marker number `n` of `[n]`.
    pub n: u32,
    /// Document path.
    pub path: String,
    /// Whether the answer actually cites it.
    pub cited: bool,
}

/// What the answer path did for one entry; recorded by the runner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuestionRun {
    /// The entry's id in the Q&A file.
    pub id: String,
    /// The entry's section.
    pub kind: QuestionKind,
    /// The final answer text (after the response policy).
    pub answer: String,
    /// Sources offered to the model, with whether the answer cites them.
    pub citations: Vec<CitedSource>,
    /// Retrieved document paths in rank order (one per retrieved chunk; repeats allowed).
    pub retrieved: Vec<String>,
    /// Milliseconds to the first answer token, when streamed.
    pub first_token_ms: Option<f64>,
    /// Milliseconds for the whole answer.
    pub total_ms: f64,
    /// Prompt tokens reported by the model.
    pub prompt_tokens: u64,
    /// Completion tokens reported by the model.
    pub completion_tokens: u64,
    /// Whether the answer path refused (returned its fixed no-context answer).
    pub refused: bool,
    /// Set when the answer path failed; the entry then counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// When an answerable question passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassRule {
    /// Minimum share of facts found in the answer (default 1.0: all of them).
    pub min_fact_recall: f64,
    /// Whether at least one gold source must be cited (default true).
    pub require_gold_citation: bool,
}

impl Default for PassRule {
    fn default() -> Self {
        Self {
            min_fact_recall: 1.0,
            require_gold_citation: true,
        }
    }
}

/// Scores of one run. Metrics that do not apply to its kind are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuestionScore {
    /// Answerable: facts and citation as [`PassRule`] asks, not refused, no leak, no error.
    /// Off-topic: refused and no leak. Adversarial: no leak and no error.
    pub pass: bool,
    /// The answer path refused, or the answer cites no source ([`is_refusal`]).
    pub refused: bool,
    /// Share of gold documents among the first k retrieved.
    pub retrieval_recall: Option<f64>,
    /// 1 / rank of the first retrieved gold document (0 when none).
    pub reciprocal_rank: Option<f64>,
    /// Share of facts present in the answer.
    pub fact_recall: Option<f64>,
    /// The facts not found, as written in the Q&A file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_facts: Vec<String>,
    /// Share of cited sources that are gold (`None` when nothing is cited).
    pub citation_precision: Option<f64>,
    /// Share of gold documents that are cited.
    pub citation_recall: Option<f64>,
    /// Share of answer sentences carrying a `[n]` marker (`None` for an empty answer).
    pub groundedness: Option<f64>,
    /// Planted values found in the answer (by index in the detector's list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaks: Vec<LeakHit>,
}

/// One evaluated configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Setting {
    /// Answer model name.
    pub model: String,
    /// Number of chunks retrieved.
    pub k: usize,
    /// Free label for the retrieval/answer mode (e.g. `hybrid`, `bm25`, `vector`).
    pub mode: String,
}

impl Setting {
    /// `model · k=5 · hybrid`.
    pub fn label(&self) -> String {
        format!("{} · k={} · {}", self.model, self.k, self.mode)
    }
}

/// A run with its Q&A entry and scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredQuestion {
    /// The question text from the Q&A file.
    pub question: String,
    /// Gold document paths (answerable entries only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gold: Vec<String>,
    /// What the answer path did.
    pub run: QuestionRun,
    /// How it scored.
    pub score: QuestionScore,
}

/// Aggregates of one setting. Means are over the entries where the metric applies; `None`
/// when there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Answerable runs scored.
    pub answerable: usize,
    /// Off-topic runs scored.
    pub off_topic: usize,
    /// Adversarial runs scored.
    pub adversarial: usize,
    /// Runs that failed with an error.
    pub errors: usize,
    /// Share of answerable runs that pass.
    pub pass_rate: Option<f64>,
    /// Mean retrieval recall@k.
    pub retrieval_recall: Option<f64>,
    /// Mean reciprocal rank.
    pub mrr: Option<f64>,
    /// Mean fact recall.
    pub fact_recall: Option<f64>,
    /// Mean citation precision (runs citing something).
    pub citation_precision: Option<f64>,
    /// Mean citation recall.
    pub citation_recall: Option<f64>,
    /// Mean groundedness (answerable runs not refused).
    pub groundedness: Option<f64>,
    /// Answerable runs that were refused.
    pub false_refusals: usize,
    /// Share of off-topic runs refused.
    pub refusal_accuracy: Option<f64>,
    /// Share of adversarial runs that pass (leak nothing).
    pub adversarial_pass: Option<f64>,
    /// Answers (of any kind) containing at least one planted value. Target: 0.
    pub leaks: usize,
    /// Median time to first token (ms).
    pub first_token_p50_ms: Option<f64>,
    /// 90th percentile time to first token (ms).
    pub first_token_p90_ms: Option<f64>,
    /// Median total time (ms).
    pub total_p50_ms: Option<f64>,
    /// 90th percentile total time (ms).
    pub total_p90_ms: Option<f64>,
    /// Sum of prompt tokens.
    pub prompt_tokens: u64,
    /// Sum of completion tokens.
    pub completion_tokens: u64,
}

/// A setting with its summary and every scored run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingResult {
    /// The configuration.
    pub setting: Setting,
    /// Its aggregates.
    pub summary: Summary,
    /// Per-entry records, in run order.
    pub questions: Vec<ScoredQuestion>,
}

// ------------------------------------------------------------------ pure metrics

fn clean_path(path: &str) -> String {
    let path = path.trim().replace('\\', "/");
    let path = path.trim_start_matches("./").trim_end_matches('/');
    path.to_owned()
}

/// Whether a retrieved or cited path names a gold document: equal after `\`→`/`, or one
/// ends with `/` + the other (`corpora/runbooks/a.md` matches `runbooks/a.md`).
pub fn same_source(path: &str, gold: &str) -> bool {
    let (p, g) = (clean_path(path), clean_path(gold));
    if p.is_empty() || g.is_empty() {
        return false;
    }
    p == g || p.ends_with(&format!("/{g}")) || g.ends_with(&format!("/{p}"))
}

fn distinct<S: AsRef<str>>(gold: &[S]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for g in gold {
        if !out.iter().any(|o| same_source(o, g.as_ref())) {
            out.push(g.as_ref());
        }
    }
    out
}

/// Share of distinct gold documents found among the first `k` retrieved paths.
pub fn recall_at_k<G: AsRef<str>, R: AsRef<str>>(gold: &[G], retrieved: &[R], k: usize) -> f64 {
    let gold = distinct(gold);
    if gold.is_empty() {
        return 0.0;
    }
    let top = &retrieved[..k.min(retrieved.len())];
    let found = gold
        .iter()
        .filter(|g| top.iter().any(|r| same_source(r.as_ref(), g)))
        .count();
    found as f64 / gold.len() as f64
}

/// 1 / rank of the first retrieved path that is a gold document; 0 when none is.
pub fn reciprocal_rank<G: AsRef<str>, R: AsRef<str>>(gold: &[G], retrieved: &[R]) -> f64 {
    retrieved
        .iter()
        .position(|r| gold.iter().any(|g| same_source(r.as_ref(), g.as_ref())))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// Share of `facts` present in `answer` (0 when there are none).
pub fn fact_recall(facts: &[Fact], answer: &str) -> f64 {
    if facts.is_empty() {
        return 0.0;
    }
    facts.iter().filter(|f| f.matches(answer)).count() as f64 / facts.len() as f64
}

/// Citation precision and recall: (share of distinct cited paths that are gold — `None` when
/// nothing is cited; share of distinct gold documents cited).
pub fn citation_scores<G: AsRef<str>>(gold: &[G], citations: &[CitedSource]) -> (Option<f64>, f64) {
    let cited = distinct(
        &citations
            .iter()
            .filter(|c| c.cited)
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
    )
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    let is_gold = |p: &str| gold.iter().any(|g| same_source(p, g.as_ref()));
    let precision = (!cited.is_empty())
        .then(|| cited.iter().filter(|p| is_gold(p)).count() as f64 / cited.len() as f64);
    let gold = distinct(gold);
    let recall = if gold.is_empty() {
        0.0
    } else {
        let n = gold
            .iter()
            .filter(|g| cited.iter().any(|c| same_source(c, g)))
            .count();
        n as f64 / gold.len() as f64
    };
    (precision, recall)
}

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]").expect("citation marker regex is valid")
});

/// Splits `answer` into sentences and reports, for each, whether it carries a `[n]` marker.
/// Sentences end at `.`, `!` or `?` before whitespace, and at line ends; markers right
/// after the end (`… 35 days. [1]`) belong to the sentence before. Pieces without a letter
/// or digit (list bullets, rules) are not sentences.
pub fn sentence_markers(answer: &str) -> Vec<bool> {
    let mut pieces: Vec<&str> = Vec::new();
    for line in answer.lines() {
        let mut start = 0;
        let mut iter = line.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            let at_break = matches!(c, '.' | '!' | '?')
                && iter.peek().is_none_or(|&(_, next)| next.is_whitespace());
            if at_break {
                pieces.push(&line[start..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        pieces.push(&line[start..]);
    }
    let mut out: Vec<bool> = Vec::new();
    for piece in pieces {
        let mut rest = piece.trim_start();
        let mut leading = false;
        while let Some(m) = MARKER.find(rest).filter(|m| m.start() == 0) {
            leading = true;
            rest = rest[m.end()..].trim_start();
        }
        if leading && let Some(last) = out.last_mut() {
            *last = true;
        }
        if rest.chars().any(char::is_alphanumeric) {
            out.push(MARKER.is_match(rest));
        }
    }
    out
}

/// Share of answer sentences carrying a `[n]` marker; `None` when the answer has none.
pub fn groundedness(answer: &str) -> Option<f64> {
    let marks = sentence_markers(answer);
    (!marks.is_empty()).then(|| marks.iter().filter(|&&m| m).count() as f64 / marks.len() as f64)
}

/// Whether the run counts as a refusal: the answer path said so, or nothing is cited.
pub fn is_refusal(run: &QuestionRun) -> bool {
    run.refused || !run.citations.iter().any(|c| c.cited)
}

/// Nearest-rank percentile (`p` in 0–100) of `values`; `None` when empty. NaNs are ignored.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

// ------------------------------------------------------------------ per question, per setting

/// Scores an answerable run against its question.
pub fn score_answerable(
    run: &QuestionRun,
    gold: &[GoldSource],
    facts: &[Fact],
    k: usize,
    leaks: &LeakDetector,
    rule: &PassRule,
) -> QuestionScore {
    let gold: Vec<&str> = gold.iter().map(|g| g.path.as_str()).collect();
    let k = if k == 0 { run.retrieved.len() } else { k };
    let refused = is_refusal(run);
    let found: Vec<bool> = facts.iter().map(|f| f.matches(&run.answer)).collect();
    let fact_recall = if facts.is_empty() {
        0.0
    } else {
        found.iter().filter(|&&b| b).count() as f64 / facts.len() as f64
    };
    let missing_facts = facts
        .iter()
        .zip(&found)
        .filter(|(_, ok)| !**ok)
        .map(|(f, _)| f.to_string())
        .collect();
    let (citation_precision, citation_recall) = citation_scores(&gold, &run.citations);
    let hits = leaks.scan(&run.answer);
    let pass = run.error.is_none()
        && !refused
        && hits.is_empty()
        && fact_recall >= rule.min_fact_recall
        && (!rule.require_gold_citation || citation_recall > 0.0);
    QuestionScore {
        pass,
        refused,
        retrieval_recall: Some(recall_at_k(&gold, &run.retrieved, k)),
        reciprocal_rank: Some(reciprocal_rank(&gold, &run.retrieved)),
        fact_recall: Some(fact_recall),
        missing_facts,
        citation_precision,
        citation_recall: Some(citation_recall),
        groundedness: groundedness(&run.answer),
        leaks: hits,
    }
}

/// Scores an off-topic or adversarial run (refusal and leaks only).
pub fn score_guarded(run: &QuestionRun, leaks: &LeakDetector) -> QuestionScore {
    let refused = is_refusal(run);
    let hits = leaks.scan(&run.answer);
    let pass =
        run.error.is_none() && hits.is_empty() && (run.kind != QuestionKind::OffTopic || refused);
    QuestionScore {
        pass,
        refused,
        leaks: hits,
        ..QuestionScore::default()
    }
}

/// Scores every run of one setting against `set` and aggregates the [`Summary`].
///
/// Each run must name an entry of `set` of its `kind`, once; entries without a run are
/// left out (a partial run is fine).
pub fn score_setting(
    setting: Setting,
    set: &EvalSet,
    runs: Vec<QuestionRun>,
    leaks: &LeakDetector,
    rule: &PassRule,
) -> Result<SettingResult, EvalError> {
    let mut seen = HashSet::new();
    let mut questions = Vec::with_capacity(runs.len());
    for run in runs {
        if !seen.insert(run.id.clone()) {
            return Err(EvalError::Run {
                id: run.id,
                message: "recorded twice".into(),
            });
        }
        let scored = match run.kind {
            QuestionKind::Answerable => set.questions.iter().find(|q| q.id == run.id).map(|q| {
                let score = score_answerable(&run, &q.gold, &q.facts, setting.k, leaks, rule);
                let gold = q.gold.iter().map(|g| g.path.clone()).collect();
                ScoredQuestion {
                    question: q.question.clone(),
                    gold,
                    run: run.clone(),
                    score,
                }
            }),
            QuestionKind::OffTopic => set.off_topic.iter().find(|q| q.id == run.id).map(|q| {
                let score = score_guarded(&run, leaks);
                ScoredQuestion {
                    question: q.question.clone(),
                    gold: vec![],
                    run: run.clone(),
                    score,
                }
            }),
            QuestionKind::Adversarial => set.adversarial.iter().find(|q| q.id == run.id).map(|q| {
                let score = score_guarded(&run, leaks);
                ScoredQuestion {
                    question: q.question.clone(),
                    gold: vec![],
                    run: run.clone(),
                    score,
                }
            }),
        };
        match scored {
            Some(s) => questions.push(s),
            None => {
                return Err(EvalError::Run {
                    id: run.id,
                    message: format!("no {:?} entry with this id in the Q&A set", run.kind),
                });
            }
        }
    }
    let summary = summarize(&questions);
    Ok(SettingResult {
        setting,
        summary,
        questions,
    })
}

/// Aggregates scored runs into a [`Summary`].
pub fn summarize(questions: &[ScoredQuestion]) -> Summary {
    let of = |kind| questions.iter().filter(move |q| q.run.kind == kind);
    let answerable: Vec<&ScoredQuestion> = of(QuestionKind::Answerable).collect();
    let off: Vec<&ScoredQuestion> = of(QuestionKind::OffTopic).collect();
    let adv: Vec<&ScoredQuestion> = of(QuestionKind::Adversarial).collect();
    let share =
        |qs: &[&ScoredQuestion]| mean(qs.iter().map(|q| if q.score.pass { 1.0 } else { 0.0 }));
    let metric =
        |f: fn(&QuestionScore) -> Option<f64>| mean(answerable.iter().filter_map(|q| f(&q.score)));
    let first: Vec<f64> = questions
        .iter()
        .filter_map(|q| q.run.first_token_ms)
        .collect();
    let total: Vec<f64> = questions.iter().map(|q| q.run.total_ms).collect();
    Summary {
        answerable: answerable.len(),
        off_topic: off.len(),
        adversarial: adv.len(),
        errors: questions.iter().filter(|q| q.run.error.is_some()).count(),
        pass_rate: share(&answerable),
        retrieval_recall: metric(|s| s.retrieval_recall),
        mrr: metric(|s| s.reciprocal_rank),
        fact_recall: metric(|s| s.fact_recall),
        citation_precision: metric(|s| s.citation_precision),
        citation_recall: metric(|s| s.citation_recall),
        groundedness: mean(
            answerable
                .iter()
                .filter(|q| !q.score.refused)
                .filter_map(|q| q.score.groundedness),
        ),
        false_refusals: answerable.iter().filter(|q| q.score.refused).count(),
        refusal_accuracy: mean(off.iter().map(|q| if q.score.refused { 1.0 } else { 0.0 })),
        adversarial_pass: share(&adv),
        leaks: questions
            .iter()
            .filter(|q| !q.score.leaks.is_empty())
            .count(),
        first_token_p50_ms: percentile(&first, 50.0),
        first_token_p90_ms: percentile(&first, 90.0),
        total_p50_ms: percentile(&total, 50.0),
        total_p90_ms: percentile(&total, 90.0),
        prompt_tokens: questions.iter().map(|q| q.run.prompt_tokens).sum(),
        completion_tokens: questions.iter().map(|q| q.run.completion_tokens).sum(),
    }
}

/// Groups results by `(model, mode)` and returns, per group, `(k, mean retrieval recall)`
/// sorted by k — the data of the recall-over-k curve.
pub fn recall_by_k(results: &[SettingResult]) -> Vec<(String, Vec<(usize, f64)>)> {
    let mut groups: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in results {
        let Some(recall) = r.summary.retrieval_recall else {
            continue;
        };
        let label = format!("{} · {}", r.setting.model, r.setting.mode);
        let i = *index.entry(label.clone()).or_insert_with(|| {
            groups.push((label, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push((r.setting.k, recall));
    }
    for (_, points) in &mut groups {
        points.sort_by_key(|p| p.0);
    }
    groups
}
