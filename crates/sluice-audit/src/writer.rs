//! The writer: one thread owns the active segment; callers send drafts over a channel.
//!
//! Group commit: the thread takes everything queued, writes it with one `write` and one
//! `fdatasync`, then acknowledges every caller. A caller's `append` returns only after its
//! record is on disk. Any I/O error is returned to every waiting caller and the log refuses
//! further appends ([`Error::Unavailable`]) until it is reopened (fail closed).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use jiff::Timestamp;
use tokio::sync::oneshot;

use crate::canonical::hashed_line;
use crate::error::{Error, Result};
use crate::index::{AuditIndex, IndexMsg, Indexed, Indexer};
use crate::keys::AuditSigningKey;
use crate::layout::{Checkpoint, segment_name};
use crate::query::{AuditQuery, Page, QueryPage};
use crate::record::{RECORD_VERSION, Record, RecordDraft, RecordId, RecordKind, SystemEvent};
use crate::recover::{ChainState, create_segment, recover};
use crate::retention::{RetentionReport, plan_retention};

/// How the log is opened.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Audit directory (segments, checkpoints, index).
    pub dir: PathBuf,
    /// Key that signs checkpoints.
    pub signing_key: AuditSigningKey,
    /// Rotate when the active segment reaches this many bytes (checked per batch).
    pub max_segment_bytes: u64,
    /// Rotate when the active segment is this old (and non-empty).
    pub max_segment_age: Duration,
    /// Keep the tantivy index up to date.
    pub index: bool,
    /// Commit the index after this many records...
    pub index_commit_records: usize,
    /// ...or after this long.
    pub index_commit_interval: Duration,
    /// Most drafts written in one group commit.
    pub max_batch: usize,
}

impl AuditConfig {
    /// Defaults: 64 MiB / 24 h segments, index on, commit every 10k records or 1 s.
    pub fn new(dir: impl Into<PathBuf>, signing_key: AuditSigningKey) -> Self {
        AuditConfig {
            dir: dir.into(),
            signing_key,
            max_segment_bytes: 64 << 20,
            max_segment_age: Duration::from_secs(24 * 3600),
            index: true,
            index_commit_records: 10_000,
            index_commit_interval: Duration::from_secs(1),
            max_batch: 4096,
        }
    }
}

/// Where the chain stands (the auditor API's "chain status").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainStatus {
    /// Sequence number of the last record (0 if empty).
    pub last_seq: u64,
    /// Hash of the last record.
    pub last_hash: String,
    /// Active segment file name.
    pub active_segment: String,
    /// Records in the active (not yet signed) segment.
    pub unsealed_records: u64,
    /// Why the log refuses appends, if it does.
    pub failed: Option<String>,
    /// Last sequence number committed to the search index.
    pub indexed_through: u64,
    /// Last index error, if any (the index is derived; rebuild with `reindex`).
    pub index_error: Option<String>,
    /// Recovery event written at open, if a torn tail was sealed.
    pub recovered: Option<SystemEvent>,
}

type Reply<T> = oneshot::Sender<Result<T>>;

#[allow(clippy::large_enum_variant)] // requests are the common case; boxing would add an allocation
enum Body {
    Request(RecordDraft),
    Event(SystemEvent),
}

enum Msg {
    Append(Vec<Body>, Reply<Vec<RecordId>>),
    Rotate(Reply<()>),
    Retention(Timestamp, Reply<RetentionReport>),
}

struct Shared {
    status: Mutex<ChainStatus>,
}

struct Inner {
    tx: Option<Sender<Msg>>,
    writer: Option<JoinHandle<()>>,
    indexer: Option<Indexer>,
    index: Option<Arc<AuditIndex>>,
    shared: Arc<Shared>,
    dir: PathBuf,
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the writer after it has drained the queue.
        self.tx.take();
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        if let Some(ix) = self.indexer.take() {
            ix.shutdown();
        }
    }
}

/// Handle to an open audit log. Cheap to clone; the writer stops when the last clone drops.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Open (or create) the log: lock the directory, recover the last segment, catch the
    /// index up, start the writer thread.
    pub fn open(cfg: AuditConfig) -> Result<AuditLog> {
        std::fs::create_dir_all(&cfg.dir).map_err(|e| Error::io(&cfg.dir, e))?;
        let lock_path = cfg.dir.join("LOCK");
        let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => Error::Locked(cfg.dir.clone()),
            std::fs::TryLockError::Error(e) => Error::io(&lock_path, e),
        })?;

        let (state, file, recovery) = recover(&cfg.dir)?;

        let (index, indexer) = if cfg.index {
            let index = Arc::new(AuditIndex::open_or_create(&cfg.dir)?);
            index.catch_up(&cfg.dir)?;
            let indexer = Indexer::spawn(
                index.clone(),
                cfg.index_commit_records,
                cfg.index_commit_interval,
            );
            (Some(index), Some(indexer))
        } else {
            (None, None)
        };

        let shared = Arc::new(Shared {
            status: Mutex::new(ChainStatus {
                last_seq: state.next_seq.saturating_sub(1),
                last_hash: state.last_hash.clone(),
                active_segment: segment_name(state.segment),
                unsealed_records: state.seg_count,
                failed: None,
                indexed_through: index.as_ref().map_or(0, |i| i.indexed_through()),
                index_error: None,
                recovered: recovery.clone(),
            }),
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut w = Writer {
            dir: cfg.dir.clone(),
            key: cfg.signing_key.clone(),
            max_bytes: cfg.max_segment_bytes,
            max_age: cfg.max_segment_age,
            max_batch: cfg.max_batch.max(1),
            state,
            file,
            seg_opened: Instant::now(),
            failed: None,
            buf: Vec::with_capacity(1 << 20),
            index_tx: indexer.as_ref().map(|i| i.sender()),
            shared: shared.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("sluice-audit-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| Error::io(&cfg.dir, e))?;
        let log = AuditLog {
            inner: Arc::new(Inner {
                tx: Some(tx),
                writer: Some(writer),
                indexer,
                index,
                shared,
                dir: cfg.dir,
                _lock: lock,
            }),
        };
        if let Some(ev) = recovery {
            log.send(|r| Msg::Append(vec![Body::Event(ev)], r))?
                .blocking_recv()
                .map_err(|_| closed())??;
        }
        Ok(log)
    }

    /// The audit directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn send<T>(&self, f: impl FnOnce(Reply<T>) -> Msg) -> Result<oneshot::Receiver<Result<T>>> {
        let (rtx, rrx) = oneshot::channel();
        let tx = self.inner.tx.as_ref().ok_or_else(closed)?;
        tx.send(f(rtx)).map_err(|_| closed())?;
        Ok(rrx)
    }

    /// Append one record and wait until it is on disk. Blocking: do not call from an async
    /// task (use [`AuditLog::append_async`]).
    pub fn append(&self, draft: RecordDraft) -> Result<RecordId> {
        let mut ids = self
            .send(|r| Msg::Append(vec![Body::Request(draft)], r))?
            .blocking_recv()
            .map_err(|_| closed())??;
        ids.pop().ok_or_else(closed)
    }

    /// Append several records in one group commit; blocking.
    pub fn append_many(&self, drafts: Vec<RecordDraft>) -> Result<Vec<RecordId>> {
        let bodies = drafts.into_iter().map(Body::Request).collect();
        self.send(|r| Msg::Append(bodies, r))?
            .blocking_recv()
            .map_err(|_| closed())?
    }

    /// Append one record; the future resolves once it is on disk. The gateway must not send
    /// the response before it resolves `Ok` (and answers 503 on `Err`).
    pub fn append_async(
        &self,
        draft: RecordDraft,
    ) -> impl std::future::Future<Output = Result<RecordId>> + Send + 'static {
        let rx = self.send(|r| Msg::Append(vec![Body::Request(draft)], r));
        async move {
            let mut ids = rx?.await.map_err(|_| closed())??;
            ids.pop().ok_or_else(closed)
        }
    }

    /// Seal the active segment now (write its signed checkpoint) and start a new one.
    pub fn rotate(&self) -> Result<()> {
        self.send(Msg::Rotate)?
            .blocking_recv()
            .map_err(|_| closed())?
    }

    /// Delete sealed segments whose checkpoint is older than `before` (oldest first, whole
    /// segments only, never the active one) and record the deletion in the chain.
    pub fn apply_retention(&self, before: Timestamp) -> Result<RetentionReport> {
        self.send(|r| Msg::Retention(before, r))?
            .blocking_recv()
            .map_err(|_| closed())?
    }

    /// Chain status for the auditor API.
    pub fn status(&self) -> ChainStatus {
        let mut s = match self.inner.shared.status.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some(ix) = &self.inner.index {
            s.indexed_through = ix.indexed_through();
            s.index_error = ix.last_error();
        }
        s
    }

    /// Commit pending index updates and make them visible to queries.
    pub fn sync_index(&self) -> Result<()> {
        match &self.inner.indexer {
            Some(ix) => ix.flush(),
            None => Ok(()),
        }
    }

    /// Query the index (filters + pagination); records are read back from the segments.
    pub fn query(&self, q: &AuditQuery, page: &Page) -> Result<QueryPage> {
        let ix = self
            .inner
            .index
            .as_ref()
            .ok_or_else(|| Error::Query("index disabled".into()))?;
        ix.query(&self.inner.dir, q, page)
    }

    /// One record by id.
    pub fn get(&self, id: &str) -> Result<Option<Record>> {
        let ix = self
            .inner
            .index
            .as_ref()
            .ok_or_else(|| Error::Query("index disabled".into()))?;
        ix.get(&self.inner.dir, id)
    }
}

fn closed() -> Error {
    Error::Unavailable("audit log writer is not running".into())
}

struct Writer {
    dir: PathBuf,
    key: AuditSigningKey,
    max_bytes: u64,
    max_age: Duration,
    max_batch: usize,
    state: ChainState,
    file: File,
    seg_opened: Instant,
    failed: Option<String>,
    buf: Vec<u8>,
    index_tx: Option<Sender<IndexMsg>>,
    shared: Arc<Shared>,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) {
        let tick = self.max_age.min(Duration::from_secs(1));
        loop {
            let first = match rx.recv_timeout(tick) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    if self.failed.is_none()
                        && self.state.seg_count > 0
                        && self.seg_opened.elapsed() >= self.max_age
                        && let Err(e) = self.seal()
                    {
                        self.fail(&e);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut appends: Vec<(Vec<Body>, Reply<Vec<RecordId>>)> = Vec::new();
            let mut n = 0usize;
            let mut control = None;
            match first {
                Msg::Append(b, r) => {
                    n += b.len();
                    appends.push((b, r));
                }
                other => control = Some(other),
            }
            while control.is_none() && n < self.max_batch {
                match rx.try_recv() {
                    Ok(Msg::Append(b, r)) => {
                        n += b.len();
                        appends.push((b, r));
                    }
                    Ok(other) => control = Some(other),
                    Err(_) => break,
                }
            }
            if !appends.is_empty() {
                self.commit(appends);
            }
            match control {
                Some(Msg::Rotate(r)) => {
                    let res = self.check().and_then(|()| self.seal());
                    if let Err(e) = &res {
                        self.fail(e);
                    }
                    let _ = r.send(res);
                }
                Some(Msg::Retention(before, r)) => {
                    let res = self.check().and_then(|()| self.retention(before));
                    let _ = r.send(res);
                }
                _ => {}
            }
        }
        let _ = self.file.sync_all();
    }

    fn check(&self) -> Result<()> {
        match &self.failed {
            Some(m) => Err(Error::Unavailable(m.clone())),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: &Error) {
        let msg = e.to_string();
        self.failed = Some(msg.clone());
        if let Ok(mut s) = self.shared.status.lock() {
            s.failed = Some(msg);
        }
    }

    /// One group commit: serialise all, one write, one fdatasync, then acknowledge.
    fn commit(&mut self, appends: Vec<(Vec<Body>, Reply<Vec<RecordId>>)>) {
        if let Some(m) = &self.failed {
            for (_, r) in appends {
                let _ = r.send(Err(Error::Unavailable(m.clone())));
            }
            return;
        }
        if self.state.seg_count > 0
            && (self.state.seg_bytes >= self.max_bytes || self.seg_opened.elapsed() >= self.max_age)
            && let Err(e) = self.seal()
        {
            self.fail(&e);
            return self.commit(appends);
        }
        self.buf.clear();
        let start_bytes = self.state.seg_bytes;
        let mut st = self.state.clone();
        let mut replies = Vec::with_capacity(appends.len());
        let mut indexed = Vec::new();
        for (bodies, reply) in appends {
            let mut ids = Vec::with_capacity(bodies.len());
            let mut err = None;
            for body in bodies {
                let now = Timestamp::now();
                let ts = if now > st.last_ts { now } else { st.last_ts };
                let (id, kind, request, event) = match body {
                    Body::Request(d) => (d.id, RecordKind::Request, Some(d.request), None),
                    Body::Event(e) => (RecordId::new(), RecordKind::Event, None, Some(e)),
                };
                let mut rec = Record {
                    v: RECORD_VERSION,
                    seq: st.next_seq,
                    id,
                    ts,
                    kind,
                    request,
                    event,
                    prev_hash: st.last_hash.clone(),
                    hash: String::new(),
                };
                match hashed_line(&rec) {
                    Ok((line, hash)) => {
                        let offset = start_bytes + self.buf.len() as u64;
                        self.buf.extend_from_slice(&line);
                        self.buf.push(b'\n');
                        rec.hash = hash.clone();
                        if st.seg_count == 0 {
                            st.seg_first_seq = rec.seq;
                            st.seg_first_prev_hash = rec.prev_hash.clone();
                        }
                        st.seg_count += 1;
                        st.next_seq += 1;
                        st.last_hash = hash;
                        st.last_ts = ts;
                        ids.push(rec.id.clone());
                        if self.index_tx.is_some() {
                            indexed.push(Indexed {
                                segment: st.segment,
                                offset,
                                len: line.len() as u64,
                                record: rec,
                            });
                        }
                    }
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            replies.push((reply, ids, err));
        }
        let path = self.dir.join(segment_name(st.segment));
        let res = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = res {
            let e = Error::io(path, e);
            self.fail(&e);
            let m = e.to_string();
            for (r, _, _) in replies {
                let _ = r.send(Err(Error::Unavailable(m.clone())));
            }
            return;
        }
        st.seg_bytes = start_bytes + self.buf.len() as u64;
        self.state = st;
        if let Ok(mut s) = self.shared.status.lock() {
            s.last_seq = self.state.next_seq - 1;
            s.last_hash = self.state.last_hash.clone();
            s.unsealed_records = self.state.seg_count;
        }
        // Queue the records for the index before acknowledging: a caller that appends and
        // then calls `sync_index` must find its records (read-your-writes for auditors).
        if let Some(tx) = &self.index_tx
            && !indexed.is_empty()
        {
            let _ = tx.send(IndexMsg::Add(indexed));
        }
        for (r, ids, err) in replies {
            let _ = r.send(match err {
                // Records of a draft that failed to serialise are not in `buf` only if it
                // was the first of its message; any earlier ones are durable and reported.
                Some(e) if ids.is_empty() => Err(e),
                _ => Ok(ids),
            });
        }
    }

    /// Write the signed checkpoint of the active segment and open the next one.
    fn seal(&mut self) -> Result<()> {
        if self.state.seg_count == 0 {
            return Ok(());
        }
        let st = &self.state;
        let cp = Checkpoint {
            v: 1,
            segment: segment_name(st.segment),
            first_seq: st.seg_first_seq,
            last_seq: st.next_seq - 1,
            count: st.seg_count,
            first_prev_hash: st.seg_first_prev_hash.clone(),
            last_hash: st.last_hash.clone(),
            sealed_at: Timestamp::now(),
            pubkey: String::new(),
            signature: String::new(),
        }
        .sign(&self.key)?;
        self.file
            .sync_all()
            .map_err(|e| Error::io(self.dir.join(&cp.segment), e))?;
        cp.write(&self.dir, st.segment)?;
        let next = st.segment + 1;
        self.file = create_segment(&self.dir, next)?;
        self.state.segment = next;
        self.state.seg_bytes = 0;
        self.state.seg_count = 0;
        self.state.seg_first_seq = self.state.next_seq;
        self.state.seg_first_prev_hash = self.state.last_hash.clone();
        self.seg_opened = Instant::now();
        if let Ok(mut s) = self.shared.status.lock() {
            s.active_segment = segment_name(next);
            s.unsealed_records = 0;
        }
        Ok(())
    }

    fn retention(&mut self, before: Timestamp) -> Result<RetentionReport> {
        let plan = plan_retention(&self.dir, self.state.segment, before)?;
        let Some(event) = plan.event() else {
            return Ok(RetentionReport::default());
        };
        // Record the intent first (durably), then delete: a crash in between leaves extra
        // segments, never an unexplained gap.
        let (tx, rx) = oneshot::channel();
        self.commit(vec![(vec![Body::Event(event)], tx)]);
        rx.blocking_recv().map_err(|_| closed())??;
        let report = plan.execute(&self.dir)?;
        if let Some(tx) = &self.index_tx {
            let _ = tx.send(IndexMsg::DeleteThrough(report.through_seq));
        }
        Ok(report)
    }
}
