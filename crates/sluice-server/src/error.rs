//! The one error type of the HTTP API and its one table: error → code → HTTP status →
//! audit decision.
//!
//! Handlers return [`ApiError`]. Its `IntoResponse` attaches an [`ErrorInfo`] to the
//! response; the request layer ([`crate::request`]) turns every error response — ours, an
//! axum rejection, a 404 or a 405 — into the same JSON body
//! `{"error":{"code","message","request_id","rule"?}}` and writes the audit record. Messages
//! name rules, limits and fields, never a matched value or request text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sluice_audit::Decision;
use sluice_rag::{AnswerError, IngestError};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No API key, or an unknown one.
    #[error("missing or unknown API key (send `Authorization: Bearer <key>`)")]
    Unauthenticated,
    /// The key's principal lacks the role the endpoint needs.
    #[error("this endpoint needs the {0} role")]
    MissingRole(String),
    /// A collection was asked for that the principal is not granted.
    #[error("collection `{0}` is not granted to this key")]
    CollectionNotGranted(String),
    /// A policy `block` action refused the request or stopped the answer.
    #[error("blocked at the {boundary} boundary by policy rule {rule} ({entity})")]
    Blocked {
        /// `ingest`, `prompt`, `context` or `response`.
        boundary: &'static str,
        /// Rule id.
        rule: String,
        /// Entity type.
        entity: String,
    },
    /// The request is malformed.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code (`bad_json`, `invalid_request`, ...).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The body is over the limit.
    #[error("request body is over the {limit}-byte limit")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body's content type is not accepted here.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request is well-formed but cannot be processed (unsupported document type, ...).
    #[error("{message}")]
    Unprocessable {
        /// Machine-readable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such route, document, record or model.
    #[error("{0}")]
    NotFound(String),
    /// The per-key rate limit was hit.
    #[error("rate limit exceeded for this key; retry in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after_s: u64,
    },
    /// The model's queue is full.
    #[error("the model is busy ({queue_depth} requests waiting); retry shortly")]
    ModelBusy {
        /// Requests waiting.
        queue_depth: usize,
    },
    /// The request took longer than the configured timeout.
    #[error("the request took longer than {0} s")]
    Timeout(u64),
    /// The audit log or another required part is unavailable (fail closed).
    #[error("{0}")]
    Unavailable(String),
    /// The model or its upstream failed.
    #[error("{0}")]
    Model(String),
    /// A bug or an unexpected failure; details are in the log.
    #[error("internal error")]
    Internal(String),
}

/// The table: one row per error.
struct Row {
    status: StatusCode,
    code: &'static str,
    decision: Decision,
    rule: Option<String>,
}

impl ApiError {
    fn row(&self) -> Row {
        let denied = |status, code: &'static str| Row {
            status,
            code,
            decision: Decision::Denied {
                reason: code.into(),
            },
            rule: None,
        };
        let error = |status, code: &'static str| Row {
            status,
            code,
            decision: Decision::Error { code: code.into() },
            rule: None,
        };
        match self {
            Self::Unauthenticated => denied(StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::MissingRole(_) => denied(StatusCode::FORBIDDEN, "forbidden"),
            Self::CollectionNotGranted(_) => {
                denied(StatusCode::FORBIDDEN, "collection_not_granted")
            }
            Self::Blocked { rule, .. } => Row {
                status: StatusCode::FORBIDDEN,
                code: "policy_block",
                decision: Decision::Blocked { rule: rule.clone() },
                rule: Some(rule.clone()),
            },
            Self::BadRequest { code, .. } => denied(StatusCode::BAD_REQUEST, code),
            Self::BodyTooLarge { .. } => denied(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Self::UnsupportedMediaType(_) => {
                denied(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Unprocessable { code, .. } => denied(StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::NotFound(_) => denied(StatusCode::NOT_FOUND, "not_found"),
            Self::RateLimited { .. } => denied(StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::ModelBusy { .. } => error(StatusCode::TOO_MANY_REQUESTS, "model_busy"),
            Self::Timeout(_) => error(StatusCode::GATEWAY_TIMEOUT, "timeout"),
            Self::Unavailable(_) => error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Model(_) => error(StatusCode::BAD_GATEWAY, "model_failed"),
            Self::Internal(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.row().status
    }

    /// The machine-readable code (the `error.code` field and the audit decision detail).
    pub fn code(&self) -> &'static str {
        self.row().code
    }

    /// Seconds for `Retry-After`, when it applies.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_s } => Some(*retry_after_s),
            Self::ModelBusy { .. } => Some(1),
            _ => None,
        }
    }

    /// What the response says (safe for clients; internal details stay in the log).
    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error; see the gateway log for this request id".into(),
            other => other.to_string(),
        }
    }

    /// The error info for a plain status (a rejection that axum produced itself).
    pub(crate) fn info_for_status(status: StatusCode, message: String) -> ErrorInfo {
        let (code, decision) = match status {
            StatusCode::NOT_FOUND => ("not_found", "not_found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method_not_allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "body_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "unsupported_media_type")
            }
            StatusCode::UNAUTHORIZED => ("unauthenticated", "unauthenticated"),
            StatusCode::FORBIDDEN => ("forbidden", "forbidden"),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "rate_limited"),
            s if s.is_server_error() => ("internal", "internal"),
            _ => ("invalid_request", "invalid_request"),
        };
        let decision = if status.is_server_error() {
            Decision::Error {
                code: decision.into(),
            }
        } else {
            Decision::Denied {
                reason: decision.into(),
            }
        };
        ErrorInfo {
            status,
            code,
            message,
            rule: None,
            decision,
        }
    }

    pub(crate) fn info(&self) -> ErrorInfo {
        let row = self.row();
        ErrorInfo {
            status: row.status,
            code: row.code,
            message: self.public_message(),
            rule: row.rule,
            decision: row.decision,
        }
    }
}

/// What the request layer needs to render an error and audit it (a response extension).
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `error.rule` (policy blocks).
    pub rule: Option<String>,
    /// The audit decision.
    pub decision: Decision,
}

impl ErrorInfo {
    /// The JSON body.
    pub(crate) fn body(&self, request_id: &str) -> serde_json::Value {
        let mut e = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        });
        if let Some(r) = &self.rule {
            e["rule"] = serde_json::Value::String(r.clone());
        }
        serde_json::json!({ "error": e })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(detail) => tracing::error!(detail = %detail, "internal error"),
            Self::Blocked { boundary, rule, .. } => crate::metrics::block(boundary, rule),
            _ => {}
        }
        let info = self.info();
        // The request layer replaces this body with the same one plus the request id.
        let body = info.body("").to_string();
        let mut res = (info.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(s) = self.retry_after()
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res.extensions_mut().insert(info);
        res
    }
}

impl From<AnswerError> for ApiError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Blocked {
                boundary,
                rule,
                entity,
                ..
            } => ApiError::Blocked {
                boundary: boundary.as_str(),
                rule,
                entity,
            },
            // One code table: the code is the answer path's own (`sluice ask --json` shows
            // the same one).
            AnswerError::EmptyQuestion
            | AnswerError::NoUserMessage
            | AnswerError::QuestionTooLong { .. }
            | AnswerError::ContextOverflow { .. } => ApiError::BadRequest {
                code: e.code(),
                message: e.to_string(),
            },
            AnswerError::Llm(l) => l.into(),
            AnswerError::Embed(_) | AnswerError::Retrieval(_) | AnswerError::Internal(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<sluice_llm::LlmError> for ApiError {
    fn from(e: sluice_llm::LlmError) -> Self {
        use sluice_llm::LlmError as L;
        match e {
            L::Busy { queue_depth } => ApiError::ModelBusy { queue_depth },
            L::InvalidRequest(m) => ApiError::BadRequest {
                code: "invalid_request",
                message: m,
            },
            L::Cancelled => ApiError::Unavailable("the model is shutting down".into()),
            // The detail (an upstream's address, an engine message) is for the operator's
            // log; a client learns the kind of failure and the request id.
            other => {
                tracing::warn!(error = %other, "model failed");
                ApiError::Model(match other {
                    L::Upstream {
                        status: Some(s), ..
                    } => format!("the upstream model server failed (HTTP {s})"),
                    L::Upstream { status: None, .. } => {
                        "the upstream model server could not be reached".into()
                    }
                    _ => "the answer model failed".into(),
                })
            }
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Blocked { rule, entity } => ApiError::Blocked {
                boundary: "ingest",
                rule,
                entity,
            },
            IngestError::TooLarge { limit, .. } => ApiError::BodyTooLarge { limit },
            IngestError::Extract(x) => ApiError::Unprocessable {
                code: "unsupported_document",
                message: x.to_string(),
            },
            e @ IngestError::TimedOut { .. } => ApiError::Unprocessable {
                code: "document_too_costly",
                message: e.to_string(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<sluice_index::IndexError> for ApiError {
    fn from(e: sluice_index::IndexError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<sluice_embed::EmbedError> for ApiError {
    fn from(e: sluice_embed::EmbedError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<sluice_audit::Error> for ApiError {
    fn from(e: sluice_audit::Error) -> Self {
        if e.is_unavailable() {
            ApiError::Unavailable("the audit log is unavailable; requests are refused".into())
        } else if let sluice_audit::Error::Query(m) = e {
            ApiError::BadRequest {
                code: "invalid_query",
                message: m,
            }
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

/// Removes client-supplied text from a serde message: the contents of `"…"` and `` `…` ``
/// before `expected` (serde echoes the offending value there), keeping the path and what
/// was expected.
pub(crate) fn scrub_serde_message(msg: &str) -> String {
    // serde puts the offending value before its `, expected …` clause, which is written
    // from our own types. The *last* such clause is the real one: a value may itself hold
    // the word "expected" (or a quote), so nothing inside it is used as a landmark.
    let (head, tail) = match msg.rfind(", expected") {
        Some(i) => msg.split_at(i),
        None => (msg, ""),
    };
    let mut out = String::with_capacity(msg.len());
    match head.find(['"', '`']) {
        // Everything from the first quote to the clause is (or may be) the value.
        Some(i) => {
            let q = &head[i..i + 1];
            out.push_str(&head[..i]);
            out.push_str(q);
            out.push('…');
            out.push_str(q);
        }
        None => out.push_str(head),
    }
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_values_are_scrubbed() {
        let m = "messages[0].content: invalid type: string \"AKIAQYLPMN5HFIQR7XOB\", expected a sequence at line 1 column 40";
        let s = scrub_serde_message(m);
        assert!(!s.contains("AKIA"), "{s}");
        assert!(s.contains("messages[0].content") && s.contains("expected a sequence"));
        // Regression: the value itself holds "expected" and quotes.
        let m = "invalid type: string \"key expected AKIAQYLPMN5HFIQR7XOB \\\" `x` , expected tail\", expected a sequence at line 1 column 90";
        let s = scrub_serde_message(m);
        assert!(!s.contains("AKIA") && !s.contains("tail"), "{s}");
        assert!(
            s.ends_with(", expected a sequence at line 1 column 90"),
            "{s}"
        );
        let m = "unknown variant `hunter2`, expected one of `ingest`, `prompt`";
        let s = scrub_serde_message(m);
        assert!(!s.contains("hunter2") && s.contains("`prompt`"), "{s}");
    }

    /// Item 11 of the adversarial review: an upstream failure showed readers the upstream's
    /// address. The client learns the kind of failure; the detail goes to the log only.
    #[test]
    fn model_failures_never_show_the_upstream_address() {
        let url = "http://10.20.30.40:8000/v1/chat/completions";
        for e in [
            sluice_llm::LlmError::Upstream {
                status: None,
                message: format!("error sending request for url ({url})"),
            },
            sluice_llm::LlmError::Upstream {
                status: Some(502),
                message: format!("{url} answered 502"),
            },
            sluice_llm::LlmError::Generation(format!("stream from {url} broke")),
            sluice_llm::LlmError::Load(format!("cannot reach {url}")),
        ] {
            let body = ApiError::from(e).info().body("req-1").to_string();
            assert!(!body.contains("10.20.30.40"), "{body}");
            assert!(body.contains("model_failed"), "{body}");
        }
    }

    #[test]
    fn the_table() {
        assert_eq!(ApiError::Unauthenticated.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            ApiError::RateLimited { retry_after_s: 1 }.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            ApiError::ModelBusy { queue_depth: 3 }.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(ApiError::Timeout(1).status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            ApiError::BodyTooLarge { limit: 1 }.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let b = ApiError::Blocked {
            boundary: "prompt",
            rule: "secrets.aws".into(),
            entity: "AWS".into(),
        };
        assert_eq!(b.status(), StatusCode::FORBIDDEN);
        assert_eq!(b.info().rule.as_deref(), Some("secrets.aws"));
    }
}
