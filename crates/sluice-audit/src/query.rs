//! Query filters, pagination and export formats.

use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layout::{list_dir, segment_name};
use crate::record::{Decision, Record};
use crate::recover::read_segment_records;

/// Filters; all given filters must match (AND). A filter on a request field never matches
/// a system event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// `ts >= since`.
    pub since: Option<Timestamp>,
    /// `ts < until`.
    pub until: Option<Timestamp>,
    /// Principal id.
    pub principal: Option<String>,
    /// A collection requested or granted.
    pub collection: Option<String>,
    /// Decision label: `allowed`, `redacted`, `blocked`, `denied`, `error`, `event`.
    pub decision: Option<String>,
    /// An entity among the findings.
    pub entity: Option<String>,
    /// A rule id among the findings or the blocking rule.
    pub rule: Option<String>,
    /// Endpoint.
    pub endpoint: Option<String>,
    /// HTTP status.
    pub status: Option<u16>,
}

/// Decision labels accepted by [`AuditQuery::decision`].
pub const DECISION_LABELS: &[&str] =
    &["allowed", "redacted", "blocked", "denied", "error", "event"];

impl AuditQuery {
    /// Reject unknown decision labels.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = &self.decision
            && !DECISION_LABELS.contains(&d.as_str())
        {
            return Err(Error::Query(format!(
                // The value is not echoed: over HTTP it is request text.
                "unknown decision (expected one of {})",
                DECISION_LABELS.join(", ")
            )));
        }
        Ok(())
    }

    /// The reference semantics (the index must agree with this).
    pub fn matches(&self, r: &Record) -> bool {
        if self.since.is_some_and(|s| r.ts < s) || self.until.is_some_and(|u| r.ts >= u) {
            return false;
        }
        if self
            .decision
            .as_deref()
            .is_some_and(|d| d != r.decision_label())
        {
            return false;
        }
        let needs_request = self.principal.is_some()
            || self.collection.is_some()
            || self.entity.is_some()
            || self.rule.is_some()
            || self.endpoint.is_some()
            || self.status.is_some();
        let Some(q) = &r.request else {
            return !needs_request;
        };
        if let Some(p) = &self.principal
            && q.principal.as_ref() != Some(p)
        {
            return false;
        }
        if let Some(c) = &self.collection
            && !q
                .collections_requested
                .iter()
                .chain(&q.collections_granted)
                .any(|x| x == c)
        {
            return false;
        }
        if let Some(e) = &self.entity
            && !q.findings.iter().any(|f| &f.entity == e)
        {
            return false;
        }
        if let Some(rule) = &self.rule {
            let blocked = matches!(&q.decision, Decision::Blocked { rule: br } if br == rule);
            if !blocked && !q.findings.iter().any(|f| &f.rule == rule) {
                return false;
            }
        }
        if self.endpoint.as_ref().is_some_and(|e| e != &q.endpoint) {
            return false;
        }
        if self.status.is_some_and(|s| s != q.status) {
            return false;
        }
        true
    }
}

/// The deepest `offset` a page may ask for. The index collects `offset + limit` hits before
/// it skips, so an unbounded offset is an allocation the caller chooses; deeper pages use
/// the cursor, which costs the same at any depth.
pub const MAX_OFFSET: usize = 100_000;

/// The largest page.
pub const MAX_LIMIT: usize = 10_000;

/// Pagination: `offset` + `limit`, or a `cursor` from a previous page's `next_cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Records per page (1..=10000).
    pub limit: usize,
    /// Records to skip (after the cursor, if any).
    pub offset: usize,
    /// Opaque cursor from [`QueryPage::next_cursor`].
    pub cursor: Option<String>,
    /// Newest first (default: oldest first).
    pub newest_first: bool,
}

impl Page {
    /// Checks the bounds ([`MAX_LIMIT`], [`MAX_OFFSET`]); the message echoes no request value.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(Error::Query(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        if self.offset > MAX_OFFSET {
            return Err(Error::Query(format!(
                "offset must be at most {MAX_OFFSET}; page deeper with the cursor"
            )));
        }
        Ok(())
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 100,
            offset: 0,
            cursor: None,
            newest_first: false,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryPage {
    /// The records, read back from the segments.
    pub records: Vec<Record>,
    /// Total number of matching records (ignoring pagination).
    pub total: u64,
    /// Cursor for the next page, `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Brute-force scan of all segments (no index): the reference for tests and a fallback.
pub fn scan(dir: &Path, q: &AuditQuery) -> Result<Vec<Record>> {
    let (segs, _) = list_dir(dir)?;
    let mut out = Vec::new();
    for n in segs {
        for (r, _, _) in read_segment_records(&dir.join(segment_name(n)))? {
            if q.matches(&r) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// CSV columns written by [`write_csv_row`].
pub const CSV_HEADER: &str = "seq,id,ts,kind,principal,client_addr,endpoint,decision,decision_detail,status,collections_requested,collections_granted,entities,rules,finding_count,chunk_ids,doc_ids,model,tokens_in,tokens_out,latency_us,policy_version,gateway_version,hash";

fn csv_field(s: &str, out: &mut Vec<u8>) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Write one CSV row (lists joined with `;`).
pub fn write_csv_row(r: &Record, w: &mut impl Write) -> std::io::Result<()> {
    let mut cols: Vec<String> = vec![
        r.seq.to_string(),
        r.id.to_string(),
        r.ts.to_string(),
        format!("{:?}", r.kind).to_lowercase(),
    ];
    match &r.request {
        Some(q) => {
            let detail = match &q.decision {
                Decision::Blocked { rule } => rule.clone(),
                Decision::Denied { reason } => reason.clone(),
                Decision::Error { code } => code.clone(),
                _ => String::new(),
            };
            let mut entities: Vec<&str> = q.findings.iter().map(|f| f.entity.as_str()).collect();
            entities.dedup();
            let mut rules: Vec<&str> = q.findings.iter().map(|f| f.rule.as_str()).collect();
            rules.dedup();
            let opt = |o: &Option<String>| o.clone().unwrap_or_default();
            let num = |o: Option<u64>| o.map(|n| n.to_string()).unwrap_or_default();
            cols.extend([
                opt(&q.principal),
                opt(&q.client_addr),
                q.endpoint.clone(),
                q.decision.label().to_string(),
                detail,
                q.status.to_string(),
                q.collections_requested.join(";"),
                q.collections_granted.join(";"),
                entities.join(";"),
                rules.join(";"),
                q.findings.iter().map(|f| f.count).sum::<u64>().to_string(),
                q.chunk_ids.join(";"),
                q.doc_ids.join(";"),
                opt(&q.model),
                num(q.tokens_in),
                num(q.tokens_out),
                q.latency_us.to_string(),
                opt(&q.policy_version),
                q.gateway_version.clone(),
            ]);
        }
        None => {
            let ev = r
                .event
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok())
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(String::from))
                .unwrap_or_default();
            cols.extend([
                String::new(),
                String::new(),
                String::new(),
                "event".into(),
                ev,
            ]);
            cols.extend(std::iter::repeat_n(String::new(), 14));
        }
    }
    cols.push(r.hash.clone());
    let mut out = Vec::with_capacity(256);
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(c, &mut out);
    }
    out.push(b'\n');
    w.write_all(&out)
}

/// Write one JSON line.
pub fn write_json_line(r: &Record, w: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, r)?;
    w.write_all(b"\n")
}

/// Parse a time argument: RFC 3339 (`2026-01-31T12:00:00Z`) or an age such as `90s`, `15m`,
/// `24h`, `7d` meaning that long before now.
pub fn parse_time_arg(s: &str) -> Result<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        // The value is not echoed: over HTTP it is request text.
        Error::Query("bad time: use RFC 3339 or an age like 24h, 7d".to_owned())
    };
    // The unit is the last *character*: a byte split would panic inside a multi-byte one.
    let Some((at, unit)) = s.char_indices().next_back() else {
        return Err(bad());
    };
    let n: i64 = s[..at].parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(scale).ok_or_else(bad)?;
    Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(secs))
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_args() {
        let t = parse_time_arg("2026-01-31T12:00:00Z").expect("rfc3339");
        assert_eq!(t.as_second(), 1_769_860_800);
        let d = parse_time_arg("2h").expect("age");
        let age = Timestamp::now().as_second() - d.as_second();
        assert!((7199..=7201).contains(&age));
        assert!(parse_time_arg("yesterday").is_err());
        // Regression: a multi-byte last character used to panic in `split_at`.
        assert!(parse_time_arg("2€").is_err());
        assert!(parse_time_arg("é").is_err());
        assert!(parse_time_arg("").is_err());
        // Regression: overflow is an error, not a wrap or a panic.
        assert!(parse_time_arg("9223372036854775807d").is_err());
    }

    #[test]
    fn page_bounds() {
        let deep = Page {
            offset: 100_000_000_000,
            ..Page::default()
        };
        let msg = deep
            .validate()
            .expect_err("deep offset refused")
            .to_string();
        assert!(!msg.contains("100000000000"), "{msg}");
        assert!(Page::default().validate().is_ok());
        let zero = Page {
            limit: 0,
            ..Page::default()
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn csv_escapes() {
        let mut out = Vec::new();
        csv_field("a,\"b\"", &mut out);
        assert_eq!(out, b"\"a,\"\"b\"\"\"");
    }
}
