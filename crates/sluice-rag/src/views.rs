//! The response bodies shared by the HTTP API and the CLI's `--json`: one type per answer,
//! search and finding, so the two can never drift apart. None of them can carry a matched
//! value: findings are shown as entity, rule, action and span.

use serde::Serialize;
use sluice_policy::{Boundary, Finding};

use crate::answer::{AnswerSummary, Citation, Prepared, Timings, mark_cited};
use crate::passages::Passage;
use crate::screen::{FindingCounts, counts};
use crate::search::{SearchHit, SearchOutcome};

/// Entity counts per boundary.
#[derive(Debug, Clone, Serialize)]
pub struct BoundaryCounts {
    /// Question (and conversation) findings.
    pub prompt: FindingCounts,
    /// Retrieved-source findings.
    pub context: FindingCounts,
    /// Answer findings (absent for a search).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<FindingCounts>,
}

/// Tokens in and out.
#[derive(Debug, Clone, Serialize)]
pub struct UsageView {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Completion tokens.
    pub completion_tokens: usize,
}

/// An answer: `POST /v1/ask`, its `done` SSE event, and `sluice ask --json`.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerView {
    /// The answer text after the response boundary.
    pub answer: String,
    /// Numbered sources; `cited` says whether the answer refers to each.
    pub citations: Vec<Citation>,
    /// The sentences of the sources that best answer the question, numbered like the
    /// citations.
    pub passages: Vec<Passage>,
    /// Findings per boundary.
    pub findings: BoundaryCounts,
    /// Whether the model was called (false: nothing relevant was found).
    pub model_called: bool,
    /// Why generation stopped.
    pub finish_reason: &'static str,
    /// Tokens.
    pub usage: UsageView,
    /// Stage timings.
    pub timings_ms: Timings,
    /// Policy version used.
    pub policy_version: String,
    /// The request id (HTTP only: the id of the audit record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AnswerView {
    /// The view of a finished answer.
    pub fn new(prepared: &Prepared, summary: &AnswerSummary, text: &str) -> Self {
        let mut citations = prepared.citations.clone();
        mark_cited(&mut citations, text);
        Self {
            answer: text.to_owned(),
            citations,
            passages: prepared.passages.clone(),
            findings: BoundaryCounts {
                prompt: prepared.prompt_findings.clone(),
                context: prepared.context_findings.clone(),
                response: Some(summary.response_findings.clone()),
            },
            model_called: summary.model_called,
            finish_reason: summary.finish_reason,
            usage: UsageView {
                prompt_tokens: summary.prompt_tokens,
                completion_tokens: summary.completion_tokens,
            },
            timings_ms: summary.timings.clone(),
            policy_version: prepared.policy_version.clone(),
            request_id: None,
        }
    }

    /// With the request id (HTTP).
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// A search: `POST /v1/search` and `sluice search --json`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchView {
    /// The query after the prompt boundary.
    pub query: String,
    /// Hits, every text field after the context boundary.
    pub hits: Vec<SearchHit>,
    /// Findings per boundary.
    pub findings: BoundaryCounts,
    /// Prompt boundary + retrieval + context boundary.
    pub took_ms: f64,
    /// Policy version used.
    pub policy_version: String,
    /// The request id (HTTP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl SearchView {
    /// The view of a search.
    pub fn new(out: SearchOutcome, policy_version: &str) -> Self {
        Self {
            findings: BoundaryCounts {
                prompt: counts(&out.findings, Boundary::Prompt),
                context: counts(&out.findings, Boundary::Context),
                response: None,
            },
            query: out.query,
            hits: out.hits,
            took_ms: out.took_ms,
            policy_version: policy_version.to_owned(),
            request_id: None,
        }
    }

    /// With the request id (HTTP).
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// One finding as shown to a caller: never its value.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Entity type.
    pub entity: String,
    /// Rule id.
    pub rule: String,
    /// Action taken.
    pub action: &'static str,
    /// Byte offset in the input.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        Self {
            entity: f.entity.to_string(),
            rule: f.rule.to_string(),
            action: f.action.name(),
            start: f.start,
            end: f.end,
        }
    }
}

/// An error as `--json` and HTTP show it: a code from the one table and a message.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// Machine-readable code.
    pub code: &'static str,
    /// What went wrong (no request text).
    pub message: String,
}

impl From<&crate::AnswerError> for ErrorView {
    fn from(e: &crate::AnswerError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}
