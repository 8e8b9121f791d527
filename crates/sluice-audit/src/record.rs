//! The audit record and its parts.
//!
//! A record never carries raw text: no prompt, answer, chunk text or matched value. Findings
//! carry only a keyed HMAC of each value (see [`crate::keys::value_hmac`]). The optional
//! [`RequestRecord::redacted_prompt`] / [`RequestRecord::redacted_answer`] fields exist for
//! operators who opt in, and the caller must pass **already redacted** text there.

use std::fmt;

use jiff::Timestamp;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Current record format version.
pub const RECORD_VERSION: u32 = 1;

/// `prev_hash` of the very first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A time-sortable record id (ULID layout: 48-bit milliseconds + 80 random bits, Crockford
/// base32, 26 characters). It doubles as the request id returned to the client.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RecordId {
    /// A fresh id for the current time.
    pub fn new() -> Self {
        let ms = Timestamp::now().as_millisecond().max(0) as u128;
        let mut rnd = [0u8; 10];
        rand::thread_rng().fill_bytes(&mut rnd);
        let mut r: u128 = 0;
        for b in rnd {
            r = (r << 8) | u128::from(b);
        }
        let v: u128 = ((ms & 0xFFFF_FFFF_FFFF) << 80) | r;
        let mut out = [0u8; 26];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (25 - i);
            *slot = CROCKFORD[((v >> shift) & 0x1F) as usize];
        }
        RecordId(out.iter().map(|&b| b as char).collect())
    }

    /// Wrap an existing id (for example one parsed from a header or a query).
    pub fn from_string(s: impl Into<String>) -> Self {
        RecordId(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", self.0)
    }
}

/// What the policy and gateway did with a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Answered with nothing to redact.
    #[default]
    Allowed,
    /// Answered after redaction.
    Redacted,
    /// Refused by a policy rule.
    Blocked {
        /// The rule that blocked it.
        rule: String,
    },
    /// Refused before policy ran: unauthenticated, forbidden, malformed, rate-limited.
    Denied {
        /// Short machine-readable reason, e.g. `unauthenticated`, `rate_limited`.
        reason: String,
    },
    /// The gateway failed (model error, timeout, internal error).
    Error {
        /// Short machine-readable error code.
        code: String,
    },
}

impl Decision {
    /// The outcome label used in the index and in queries.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Redacted => "redacted",
            Decision::Blocked { .. } => "blocked",
            Decision::Denied { .. } => "denied",
            Decision::Error { .. } => "error",
        }
    }
}

/// One policy finding, summarised: no value, only a keyed HMAC per occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingSummary {
    /// Where it was found: `prompt`, `retrieved`, `answer`, ...
    pub boundary: String,
    /// Entity type, e.g. `email`, `iban`.
    pub entity: String,
    /// Rule id that matched.
    pub rule: String,
    /// Action taken: `redact`, `mask`, `block`, `allow`, ...
    pub action: String,
    /// Number of occurrences.
    pub count: u64,
    /// `value_hmac(key, entity, value)` of each occurrence (see [`crate::keys::value_hmac`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_hmacs: Vec<String>,
}

/// The request part of a record: what the gateway fills in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Authenticated principal id (never the API key). `None` when unauthenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Client address (`ip:port` or `ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
    /// Endpoint path, e.g. `/v1/ask`.
    pub endpoint: String,
    /// Collections the client asked for.
    #[serde(default)]
    pub collections_requested: Vec<String>,
    /// Collections the principal was granted.
    #[serde(default)]
    pub collections_granted: Vec<String>,
    /// How many requested names were not valid collection names. They are request text
    /// (they could hold anything), so they are counted, never recorded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub collections_rejected: u32,
    /// Policy findings per boundary.
    #[serde(default)]
    pub findings: Vec<FindingSummary>,
    /// Outcome.
    pub decision: Decision,
    /// Retrieved chunk ids.
    #[serde(default)]
    pub chunk_ids: Vec<String>,
    /// Retrieved document ids.
    #[serde(default)]
    pub doc_ids: Vec<String>,
    /// Model id used to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<u64>,
    /// Completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<u64>,
    /// Request latency in microseconds.
    pub latency_us: u64,
    /// HTTP status sent to the client.
    pub status: u16,
    /// Hash of the loaded policy set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// Gateway version.
    pub gateway_version: String,
    /// Opt-in only: the prompt **after redaction**. The caller must never pass raw text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_prompt: Option<String>,
    /// Opt-in only: the answer **after redaction**. The caller must never pass raw text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_answer: Option<String>,
}

/// What the gateway hands to [`crate::AuditLog::append`]; the writer completes it with
/// sequence number, timestamp, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDraft {
    /// Record id = request id (already sent to the client as a header, or fresh).
    pub id: RecordId,
    /// The request facts.
    pub request: RequestRecord,
}

impl RecordDraft {
    /// A draft with a fresh id.
    pub fn new(request: RequestRecord) -> Self {
        RecordDraft {
            id: RecordId::new(),
            request,
        }
    }

    /// A draft with the id already returned to the client.
    pub fn with_id(id: RecordId, request: RequestRecord) -> Self {
        RecordDraft { id, request }
    }
}

/// Events the log writes about itself; they are links of the same chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemEvent {
    /// On open, a torn or invalid tail was cut from a segment and moved aside.
    Recovery {
        /// Segment file the bytes were cut from.
        segment: String,
        /// Byte offset where the valid data ends.
        offset: u64,
        /// Number of bytes moved aside.
        torn_bytes: u64,
        /// SHA-256 of the torn bytes (hex).
        torn_sha256: String,
        /// File the bytes were moved to.
        moved_to: String,
    },
    /// Retention deleted whole old segments.
    Retention {
        /// Deleted segment file names, oldest first.
        deleted: Vec<String>,
        /// Number of records deleted.
        records: u64,
        /// Last sequence number deleted.
        through_seq: u64,
        /// Hash of the last deleted record (the `prev_hash` of the first kept one).
        through_hash: String,
    },
}

/// Kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A gateway request.
    Request,
    /// A [`SystemEvent`].
    Event,
}

/// One line of a segment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Format version ([`RECORD_VERSION`]).
    pub v: u32,
    /// Position in the chain, 1-based, contiguous across segments.
    pub seq: u64,
    /// Record id (= request id).
    pub id: RecordId,
    /// Time the writer accepted it (non-decreasing along the chain).
    pub ts: Timestamp,
    /// Request or event.
    pub kind: RecordKind,
    /// Set when `kind == request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRecord>,
    /// Set when `kind == event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<SystemEvent>,
    /// `hash` of the previous record ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of the canonical form of this record without `hash`.
    #[serde(default)]
    pub hash: String,
}

impl Record {
    /// Outcome label (`allowed`, `redacted`, `blocked`, `denied`, `error`, or `event`).
    pub fn decision_label(&self) -> &'static str {
        match &self.request {
            Some(r) => r.decision.label(),
            None => "event",
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
