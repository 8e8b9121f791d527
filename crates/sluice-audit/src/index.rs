//! The tantivy search index over the records. It is derived data: it stores only what the
//! filters need plus each record's location (segment, offset, length); hits are read back
//! from the segments, the source of truth. It is updated off the request path by an indexer
//! thread that commits in batches, caught up on open, and rebuildable with [`reindex`].

use std::collections::HashMap;
use std::fs::File;
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, Value as _,
};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::layout::{Checkpoint, checkpoint_name, list_dir, segment_name};
use crate::query::{AuditQuery, Page, QueryPage};
use crate::record::{Decision, Record};
use crate::recover::{parse_line, read_segment_records};

/// A written record and where it lies.
pub(crate) struct Indexed {
    pub segment: u64,
    pub offset: u64,
    pub len: u64,
    pub record: Record,
}

pub(crate) enum IndexMsg {
    Add(Vec<Indexed>),
    DeleteThrough(u64),
    Flush(oneshot::Sender<Result<()>>),
    Shutdown,
}

#[derive(Clone, Copy)]
struct Fields {
    seq: Field,
    ts: Field,
    id: Field,
    principal: Field,
    decision: Field,
    status: Field,
    entity: Field,
    rule: Field,
    collection: Field,
    endpoint: Field,
    seg: Field,
    off: Field,
    len: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        seq: b.add_u64_field("seq", INDEXED | FAST | STORED),
        ts: b.add_i64_field("ts", INDEXED | FAST),
        id: b.add_text_field("id", STRING | STORED),
        principal: b.add_text_field("principal", STRING | FAST),
        decision: b.add_text_field("decision", STRING | FAST),
        status: b.add_u64_field("status", INDEXED | FAST),
        entity: b.add_text_field("entity", STRING),
        rule: b.add_text_field("rule", STRING),
        collection: b.add_text_field("collection", STRING),
        endpoint: b.add_text_field("endpoint", STRING),
        seg: b.add_u64_field("seg", STORED),
        off: b.add_u64_field("off", STORED),
        len: b.add_u64_field("len", STORED),
    };
    (b.build(), f)
}

/// Timestamp as indexed: nanoseconds since the Unix epoch.
pub(crate) fn ts_key(ts: jiff::Timestamp) -> i64 {
    i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX)
}

/// The search index of one audit directory.
pub struct AuditIndex {
    reader: IndexReader,
    fields: Fields,
    writer: Option<Mutex<IndexWriter>>,
    through: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for AuditIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditIndex")
            .field("indexed_through", &self.indexed_through())
            .finish_non_exhaustive()
    }
}

/// Path of the index inside an audit directory.
pub fn index_dir(dir: &Path) -> PathBuf {
    dir.join("index")
}

impl AuditIndex {
    /// Open the index for writing, creating it (or recreating it if unreadable).
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        let path = index_dir(dir);
        let (schema, fields) = schema();
        let index = match Index::open_in_dir(&path) {
            Ok(ix) if ix.schema() == schema => ix,
            _ => {
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
                Index::create_in_dir(&path, schema)?
            }
        };
        let writer = index.writer_with_num_threads(1, 64_000_000)?;
        Self::finish(index, fields, Some(writer))
    }

    /// Open an existing index for reading only (e.g. the CLI while the gateway runs).
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let path = index_dir(dir);
        let (schema, fields) = schema();
        let index = Index::open_in_dir(&path)?;
        if index.schema() != schema {
            return Err(Error::Query(
                "index schema is outdated: run `sluice audit reindex`".into(),
            ));
        }
        Self::finish(index, fields, None)
    }

    fn finish(index: Index, fields: Fields, writer: Option<IndexWriter>) -> Result<Self> {
        let through = index
            .load_metas()?
            .payload
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(AuditIndex {
            reader,
            fields,
            writer: writer.map(Mutex::new),
            through: AtomicU64::new(through),
            last_error: Mutex::new(None),
        })
    }

    /// Last sequence number committed to the index.
    pub fn indexed_through(&self) -> u64 {
        self.through.load(Ordering::Acquire)
    }

    /// Last error of the background indexer.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|g| g.clone())
    }

    fn set_error(&self, e: &Error) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e.to_string());
        }
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter) -> Result<T>) -> Result<T> {
        let w = self
            .writer
            .as_ref()
            .ok_or_else(|| Error::Query("index opened read-only".into()))?;
        let mut g = w
            .lock()
            .map_err(|_| Error::Query("index writer poisoned".into()))?;
        f(&mut g)
    }

    fn doc(&self, x: &Indexed) -> TantivyDocument {
        let f = &self.fields;
        let r = &x.record;
        let mut d = TantivyDocument::default();
        d.add_u64(f.seq, r.seq);
        d.add_i64(f.ts, ts_key(r.ts));
        d.add_text(f.id, r.id.as_str());
        d.add_text(f.decision, r.decision_label());
        d.add_u64(f.seg, x.segment);
        d.add_u64(f.off, x.offset);
        d.add_u64(f.len, x.len);
        if let Some(q) = &r.request {
            if let Some(p) = &q.principal {
                d.add_text(f.principal, p);
            }
            d.add_u64(f.status, u64::from(q.status));
            d.add_text(f.endpoint, &q.endpoint);
            for c in q.collections_requested.iter().chain(&q.collections_granted) {
                d.add_text(f.collection, c);
            }
            for fi in &q.findings {
                d.add_text(f.entity, &fi.entity);
                d.add_text(f.rule, &fi.rule);
            }
            if let Decision::Blocked { rule } = &q.decision {
                d.add_text(f.rule, rule);
            }
        }
        d
    }

    fn add(&self, batch: &[Indexed]) -> Result<u64> {
        self.with_writer(|w| {
            let mut last = 0;
            for x in batch {
                w.add_document(self.doc(x))?;
                last = x.record.seq;
            }
            Ok(last)
        })
    }

    fn commit(&self, through: u64) -> Result<()> {
        self.with_writer(|w| {
            let mut pc = w.prepare_commit()?;
            pc.set_payload(&through.to_string());
            pc.commit()?;
            Ok(())
        })?;
        self.through.store(through, Ordering::Release);
        self.reader.reload()?;
        Ok(())
    }

    /// Index every record on disk that the index has not seen yet, then commit.
    pub fn catch_up(&self, dir: &Path) -> Result<u64> {
        let mut through = self.indexed_through();
        let (segs, _) = list_dir(dir)?;
        let mut added = 0u64;
        let mut batch = Vec::new();
        let mut max_seen = 0u64;
        for n in segs {
            if let Ok(cp) = Checkpoint::read(&dir.join(checkpoint_name(n))) {
                max_seen = max_seen.max(cp.last_seq);
                if cp.last_seq <= through {
                    continue;
                }
            }
            for (record, offset, len) in read_segment_records(&dir.join(segment_name(n)))? {
                max_seen = max_seen.max(record.seq);
                if record.seq <= through {
                    continue;
                }
                batch.push(Indexed {
                    segment: n,
                    offset,
                    len,
                    record,
                });
                if batch.len() >= 50_000 {
                    added += batch.len() as u64;
                    through = self.add(&batch)?;
                    batch.clear();
                }
            }
        }
        if through > max_seen {
            // The index is ahead of the log (the directory was replaced): rebuild.
            self.with_writer(|w| Ok(w.delete_all_documents().map(|_| ())?))?;
            self.commit(0)?;
            return self.catch_up(dir);
        }
        if !batch.is_empty() {
            added += batch.len() as u64;
            through = self.add(&batch)?;
        }
        if added > 0 {
            self.commit(through)?;
        }
        Ok(added)
    }

    fn build_query(&self, q: &AuditQuery, after: Option<(u64, bool)>) -> Box<dyn Query> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let term = |field: Field, v: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, v),
                    IndexRecordOption::Basic,
                )),
            )
        };
        if q.since.is_some() || q.until.is_some() {
            let lo = q.since.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_i64(f.ts, ts_key(t)))
            });
            let hi = q.until.map_or(Bound::Unbounded, |t| {
                Bound::Excluded(Term::from_field_i64(f.ts, ts_key(t)))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if let Some(v) = &q.principal {
            must.push(term(f.principal, v));
        }
        if let Some(v) = &q.decision {
            must.push(term(f.decision, v));
        }
        if let Some(v) = &q.collection {
            must.push(term(f.collection, v));
        }
        if let Some(v) = &q.entity {
            must.push(term(f.entity, v));
        }
        if let Some(v) = &q.rule {
            must.push(term(f.rule, v));
        }
        if let Some(v) = &q.endpoint {
            must.push(term(f.endpoint, v));
        }
        if let Some(s) = q.status {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.status, u64::from(s)),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some((seq, newest_first)) = after {
            let t = Term::from_field_u64(f.seq, seq);
            let rq = if newest_first {
                RangeQuery::new(Bound::Unbounded, Bound::Excluded(t))
            } else {
                RangeQuery::new(Bound::Excluded(t), Bound::Unbounded)
            };
            must.push((Occur::Must, Box::new(rq)));
        }
        if must.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(must))
        }
    }

    /// Run a query; records are read back from the segment files in `dir`.
    pub fn query(&self, dir: &Path, q: &AuditQuery, page: &Page) -> Result<QueryPage> {
        page.validate()?;
        let searcher = self.reader.searcher();
        let limit = page.limit;
        let after = match &page.cursor {
            Some(c) => Some((
                c.parse::<u64>()
                    // Not echoed: over HTTP the cursor is request text.
                    .map_err(|_| Error::Query("bad cursor".to_owned()))?,
                page.newest_first,
            )),
            None => None,
        };
        let order = if page.newest_first {
            Order::Desc
        } else {
            Order::Asc
        };
        let collector = TopDocs::with_limit(limit)
            .and_offset(page.offset)
            .order_by_fast_field::<u64>("seq", order);
        let query = self.build_query(q, after);
        let (mut total, hits) = searcher.search(&*query, &(Count, collector))?;
        if after.is_some() {
            total = searcher.search(&*self.build_query(q, None), &Count)?;
        }
        let mut files: HashMap<u64, File> = HashMap::new();
        let mut records = Vec::with_capacity(hits.len());
        let mut last_seq = None;
        for (_, addr) in &hits {
            let doc: TantivyDocument = searcher.doc(*addr)?;
            let get = |f: Field| doc.get_first(f).and_then(|v| v.as_u64()).unwrap_or(0);
            let (seg, off, len, seq) = (
                get(self.fields.seg),
                get(self.fields.off),
                get(self.fields.len),
                get(self.fields.seq),
            );
            last_seq = Some(seq);
            // Records deleted by retention are skipped until the index catches up.
            if let Some(r) = read_at(dir, &mut files, seg, off, len)? {
                records.push(r);
            }
        }
        let next_cursor = if hits.len() == limit {
            last_seq.map(|s| s.to_string())
        } else {
            None
        };
        Ok(QueryPage {
            records,
            total: total as u64,
            next_cursor,
        })
    }

    /// One record by id.
    pub fn get(&self, dir: &Path, id: &str) -> Result<Option<Record>> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let hits = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, addr)) = hits.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*addr)?;
        let get = |f: Field| doc.get_first(f).and_then(|v| v.as_u64()).unwrap_or(0);
        let mut files = HashMap::new();
        read_at(
            dir,
            &mut files,
            get(self.fields.seg),
            get(self.fields.off),
            get(self.fields.len),
        )
    }
}

fn read_at(
    dir: &Path,
    files: &mut HashMap<u64, File>,
    seg: u64,
    off: u64,
    len: u64,
) -> Result<Option<Record>> {
    let path = dir.join(segment_name(seg));
    let f = match files.entry(seg) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => match File::open(&path) {
            Ok(f) => v.insert(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        },
    };
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, off)
        .map_err(|e| Error::io(&path, e))?;
    parse_line(&buf)
        .map(|(_, r)| Some(r))
        .map_err(|detail| Error::Corrupt {
            segment: segment_name(seg),
            line: 0,
            detail: format!("at byte {off}: {detail}"),
        })
}

/// Background indexer: batches records, commits every N records or T seconds.
pub(crate) struct Indexer {
    tx: Sender<IndexMsg>,
    handle: Option<JoinHandle<()>>,
}

impl Indexer {
    pub(crate) fn spawn(index: Arc<AuditIndex>, every: usize, interval: Duration) -> Indexer {
        let (tx, rx) = crossbeam_channel::unbounded::<IndexMsg>();
        let handle = std::thread::Builder::new()
            .name("sluice-audit-indexer".into())
            .spawn(move || {
                let mut pending = 0usize;
                let mut through = index.indexed_through();
                let mut last_commit = Instant::now();
                let commit =
                    |through: u64, pending: &mut usize, last: &mut Instant| -> Result<()> {
                        if *pending > 0 {
                            index.commit(through)?;
                            *pending = 0;
                        }
                        *last = Instant::now();
                        Ok(())
                    };
                loop {
                    let msg = rx.recv_timeout(interval);
                    let res = match msg {
                        Ok(IndexMsg::Add(batch)) => index.add(&batch).map(|last| {
                            through = through.max(last);
                            pending += batch.len();
                        }),
                        Ok(IndexMsg::DeleteThrough(seq)) => index
                            .with_writer(|w| {
                                let t = Term::from_field_u64(index.fields.seq, seq);
                                w.delete_query(Box::new(RangeQuery::new(
                                    Bound::Unbounded,
                                    Bound::Included(t),
                                )))?;
                                Ok(())
                            })
                            .map(|()| pending += 1),
                        Ok(IndexMsg::Flush(reply)) => {
                            let r = commit(through, &mut pending, &mut last_commit);
                            let _ = reply.send(r);
                            continue;
                        }
                        Ok(IndexMsg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                            if let Err(e) = commit(through, &mut pending, &mut last_commit) {
                                index.set_error(&e);
                            }
                            break;
                        }
                        Err(RecvTimeoutError::Timeout) => Ok(()),
                    };
                    if let Err(e) = res {
                        index.set_error(&e);
                    }
                    if (pending >= every || last_commit.elapsed() >= interval)
                        && let Err(e) = commit(through, &mut pending, &mut last_commit)
                    {
                        index.set_error(&e);
                    }
                }
            })
            .ok();
        Indexer { tx, handle }
    }

    pub(crate) fn sender(&self) -> Sender<IndexMsg> {
        self.tx.clone()
    }

    pub(crate) fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(IndexMsg::Flush(tx))
            .map_err(|_| Error::Query("indexer stopped".into()))?;
        rx.blocking_recv()
            .map_err(|_| Error::Query("indexer stopped".into()))?
    }

    pub(crate) fn shutdown(mut self) {
        let _ = self.tx.send(IndexMsg::Shutdown);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Rebuild the index of `dir` from its segments. Takes the directory lock: do not run while
/// the gateway has the log open. Returns the number of records indexed.
pub fn reindex(dir: &Path) -> Result<u64> {
    let lock_path = dir.join("LOCK");
    let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    lock.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => Error::Locked(dir.to_path_buf()),
        std::fs::TryLockError::Error(e) => Error::io(&lock_path, e),
    })?;
    let path = index_dir(dir);
    if path.exists() {
        std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
    }
    let ix = AuditIndex::open_or_create(dir)?;
    ix.catch_up(dir)
}
