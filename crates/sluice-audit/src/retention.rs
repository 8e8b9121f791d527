//! Retention: whole old segments are deleted, oldest first, never the active one, and the
//! deletion is recorded as a [`SystemEvent::Retention`] in the chain *before* the files go.

use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::layout::{Checkpoint, checkpoint_name, list_dir, segment_name, sync_dir};
use crate::record::SystemEvent;

/// What retention deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Deleted segment file names.
    pub deleted: Vec<String>,
    /// Records deleted.
    pub records: u64,
    /// Last deleted sequence number (0 if nothing was deleted).
    pub through_seq: u64,
}

/// Segments chosen for deletion.
pub(crate) struct RetentionPlan {
    segments: Vec<(u64, Checkpoint)>,
}

/// Choose the prefix of sealed segments sealed before `before`.
pub(crate) fn plan_retention(dir: &Path, active: u64, before: Timestamp) -> Result<RetentionPlan> {
    let (segs, _) = list_dir(dir)?;
    let mut out = Vec::new();
    for n in segs {
        if n >= active {
            break;
        }
        let p = dir.join(checkpoint_name(n));
        let cp = match Checkpoint::read(&p) {
            Ok(cp) => cp,
            Err(Error::Io { .. }) => break,
            Err(e) => return Err(e),
        };
        if cp.sealed_at >= before {
            break;
        }
        out.push((n, cp));
    }
    Ok(RetentionPlan { segments: out })
}

impl RetentionPlan {
    /// The chain event describing this deletion, or `None` if nothing is to be deleted.
    pub(crate) fn event(&self) -> Option<SystemEvent> {
        let (_, last) = self.segments.last()?;
        Some(SystemEvent::Retention {
            deleted: self
                .segments
                .iter()
                .map(|(n, _)| segment_name(*n))
                .collect(),
            records: self.segments.iter().map(|(_, c)| c.count).sum(),
            through_seq: last.last_seq,
            through_hash: last.last_hash.clone(),
        })
    }

    /// Delete the segments and their checkpoints.
    pub(crate) fn execute(self, dir: &Path) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        for (n, cp) in &self.segments {
            let seg = dir.join(segment_name(*n));
            std::fs::remove_file(&seg).map_err(|e| Error::io(&seg, e))?;
            let cpp = dir.join(checkpoint_name(*n));
            std::fs::remove_file(&cpp).map_err(|e| Error::io(&cpp, e))?;
            report.deleted.push(segment_name(*n));
            report.records += cp.count;
            report.through_seq = cp.last_seq;
        }
        sync_dir(dir)?;
        Ok(report)
    }
}
