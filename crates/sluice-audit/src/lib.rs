//! Sluice's audit log: one content-minimised record per request, hash-chained across
//! append-only segment files, sealed with Ed25519-signed checkpoints, written with fsync
//! group commit (fail closed), recoverable after a crash, verifiable, and searchable through
//! a tantivy index that is derived from (and rebuildable from) the segments.
//!
//! ```no_run
//! use sluice_audit::{AuditConfig, AuditLog, AuditSigningKey, Decision, RecordDraft, RequestRecord};
//! # fn main() -> sluice_audit::Result<()> {
//! let log = AuditLog::open(AuditConfig::new("/var/lib/sluice/audit", AuditSigningKey::generate()))?;
//! let id = log.append(RecordDraft::new(RequestRecord {
//!     principal: Some("alice".into()),
//!     endpoint: "/v1/ask".into(),
//!     decision: Decision::Allowed,
//!     status: 200,
//!     gateway_version: "0.1.0".into(),
//!     ..RequestRecord::default()
//! }))?; // returns once the record is on disk
//! let report = sluice_audit::verify_dir(log.dir(), None)?;
//! assert!(report.is_ok());
//! # let _ = id; Ok(()) }
//! ```
//!
//! See the crate README for the guarantees, the record format and the file layout.

pub mod canonical;
mod error;
pub mod index;
pub mod keys;
pub mod layout;
pub mod query;
pub mod record;
mod recover;
pub mod retention;
pub mod verify;
mod writer;

pub use error::{Error, Result};
pub use index::{AuditIndex, reindex};
pub use jiff::Timestamp;
pub use keys::{AuditSigningKey, HmacKey, parse_public_key, value_hmac};
pub use layout::Checkpoint;
pub use query::{AuditQuery, MAX_LIMIT, MAX_OFFSET, Page, QueryPage, parse_time_arg, scan};
pub use record::{
    Decision, FindingSummary, Record, RecordDraft, RecordId, RecordKind, RequestRecord, SystemEvent,
};
pub use retention::RetentionReport;
pub use verify::{Break, BreakKind, TornTail, VerifyReport, verify_dir};
pub use writer::{AuditConfig, AuditLog, ChainStatus};
