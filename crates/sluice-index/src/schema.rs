//! The `chunks` table: its Arrow schema, and conversion between rows and Rust types.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::{ChunkInput, DocumentMeta};
use crate::{IndexError, Result};

/// Column names, in table order.
pub mod col {
    /// `<doc_id>:<n>`: unique per chunk, the merge key of upserts.
    pub const CHUNK_ID: &str = "chunk_id";
    /// Stable id of the source document.
    pub const DOC_ID: &str = "doc_id";
    /// Ordinal of the chunk in its document (0-based).
    pub const CHUNK_INDEX: &str = "chunk_index";
    /// Collection the document belongs to (the unit of access grants).
    pub const COLLECTION: &str = "collection";
    /// Path of the source document inside its collection.
    pub const SOURCE_PATH: &str = "source_path";
    /// Byte offset where the chunk starts in the source document.
    pub const SPAN_START: &str = "span_start";
    /// Byte offset just past the chunk's end in the source document.
    pub const SPAN_END: &str = "span_end";
    /// Heading path, `" > "`-joined.
    pub const HEADING_PATH: &str = "heading_path";
    /// Chunk text after the ingest policy (already redacted by the caller).
    pub const TEXT: &str = "text";
    /// Embedding, `FixedSizeList<Float32>` of the configured dimension.
    pub const VECTOR: &str = "vector";
    /// Hex hash of the whole source document.
    pub const CONTENT_HASH: &str = "content_hash";
    /// Milliseconds since the Unix epoch when the document was ingested.
    pub const INGESTED_AT_MS: &str = "ingested_at_ms";
    /// Version of the ingest policy the text was redacted with.
    pub const POLICY_VERSION: &str = "policy_version";
}

/// Columns returned by searches (everything but the vector, which is fetched only where
/// a similarity has to be computed).
pub(crate) const HIT_COLUMNS: &[&str] = &[
    col::CHUNK_ID,
    col::DOC_ID,
    col::COLLECTION,
    col::SOURCE_PATH,
    col::SPAN_START,
    col::SPAN_END,
    col::HEADING_PATH,
    col::TEXT,
    col::VECTOR,
];

/// A string column stored without compression.
///
/// Lance compresses large string pages (FSST, or LZ4/zstd for dictionary values) by
/// default. Stored plainly, a string written to the table appears byte-for-byte in its
/// data files, so [`crate::scan_files_for`] can prove that a canary did *not* reach them;
/// with compression a missing needle would prove nothing.
fn plain_utf8(name: &str) -> Field {
    let meta = HashMap::from([
        ("lance-encoding:compression".to_owned(), "none".to_owned()),
        (
            "lance-encoding:dict-values-compression".to_owned(),
            "none".to_owned(),
        ),
    ]);
    Field::new(name, DataType::Utf8, false).with_metadata(meta)
}

/// The Arrow schema of the `chunks` table for vectors of `dim` dimensions.
pub fn chunk_schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        plain_utf8(col::CHUNK_ID),
        plain_utf8(col::DOC_ID),
        Field::new(col::CHUNK_INDEX, DataType::UInt32, false),
        plain_utf8(col::COLLECTION),
        plain_utf8(col::SOURCE_PATH),
        Field::new(col::SPAN_START, DataType::UInt64, false),
        Field::new(col::SPAN_END, DataType::UInt64, false),
        plain_utf8(col::HEADING_PATH),
        plain_utf8(col::TEXT),
        Field::new(col::VECTOR, vector_type(dim), false),
        plain_utf8(col::CONTENT_HASH),
        Field::new(col::INGESTED_AT_MS, DataType::Int64, false),
        plain_utf8(col::POLICY_VERSION),
    ]))
}

fn vector_type(dim: usize) -> DataType {
    DataType::FixedSizeList(
        Arc::new(Field::new("item", DataType::Float32, true)),
        i32::try_from(dim).unwrap_or(i32::MAX),
    )
}

/// Check that an existing table can be read and written by this crate: every column
/// present with the expected type (metadata aside), the vector of dimension `dim`.
pub(crate) fn check_compatible(existing: &Schema, dim: usize) -> std::result::Result<(), String> {
    let expected = chunk_schema(dim);
    for field in expected.fields() {
        let Ok(found) = existing.field_with_name(field.name()) else {
            return Err(format!("column {} is missing", field.name()));
        };
        let same = match (found.data_type(), field.data_type()) {
            (DataType::FixedSizeList(_, a), DataType::FixedSizeList(_, b)) => a == b,
            (a, b) => a == b,
        };
        if !same {
            return Err(format!(
                "column {} is {}, expected {}",
                field.name(),
                found.data_type(),
                field.data_type()
            ));
        }
    }
    Ok(())
}

/// The chunk id of the `n`th chunk of `doc_id`.
pub fn chunk_id(doc_id: &str, n: usize) -> String {
    format!("{doc_id}:{n}")
}

/// Validate a vector: right dimension, finite, not all zeros.
pub(crate) fn check_vector(v: &[f32], dim: usize, what: impl Fn() -> String) -> Result<()> {
    if v.len() != dim {
        return Err(IndexError::Dimension {
            what: what(),
            expected: dim,
            got: v.len(),
        });
    }
    if v.iter().any(|x| !x.is_finite()) || v.iter().all(|x| *x == 0.0) {
        return Err(IndexError::BadVector { what: what() });
    }
    Ok(())
}

/// Build one record batch holding the chunks of several documents.
pub(crate) fn build_batch(
    schema: &SchemaRef,
    dim: usize,
    docs: &[(&DocumentMeta, &[ChunkInput])],
) -> Result<RecordBatch> {
    let rows: usize = docs.iter().map(|(_, c)| c.len()).sum();
    let mut chunk_ids = Vec::with_capacity(rows);
    let mut doc_ids = Vec::with_capacity(rows);
    let mut indexes = Vec::with_capacity(rows);
    let mut collections = Vec::with_capacity(rows);
    let mut paths = Vec::with_capacity(rows);
    let mut starts = Vec::with_capacity(rows);
    let mut ends = Vec::with_capacity(rows);
    let mut headings = Vec::with_capacity(rows);
    let mut texts = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows * dim);
    let mut hashes = Vec::with_capacity(rows);
    let mut times = Vec::with_capacity(rows);
    let mut policies = Vec::with_capacity(rows);

    for (meta, chunks) in docs {
        for (n, chunk) in chunks.iter().enumerate() {
            let id = chunk_id(&meta.doc_id, n);
            check_vector(&chunk.vector, dim, || format!("chunk {id}"))?;
            if chunk.span.start > chunk.span.end {
                return Err(IndexError::InvalidInput(format!(
                    "chunk {id}: span start {} is after its end {}",
                    chunk.span.start, chunk.span.end
                )));
            }
            let n = u32::try_from(n).map_err(|_| {
                IndexError::InvalidInput(format!("document {} has too many chunks", meta.doc_id))
            })?;
            chunk_ids.push(id);
            doc_ids.push(meta.doc_id.as_str());
            indexes.push(n);
            collections.push(meta.collection.as_str());
            paths.push(meta.source_path.as_str());
            starts.push(chunk.span.start);
            ends.push(chunk.span.end);
            headings.push(chunk.heading_path.as_str());
            texts.push(chunk.text.as_str());
            values.extend_from_slice(&chunk.vector);
            hashes.push(meta.content_hash.as_str());
            times.push(meta.ingested_at_ms);
            policies.push(meta.policy_version.as_str());
        }
    }

    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let dim_i32 = i32::try_from(dim)
        .map_err(|_| IndexError::InvalidInput(format!("vector dimension {dim} is too large")))?;
    let vectors =
        FixedSizeListArray::try_new(item, dim_i32, Arc::new(Float32Array::from(values)), None)
            .map_err(arrow)?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(chunk_ids)),
        Arc::new(StringArray::from(doc_ids)),
        Arc::new(UInt32Array::from(indexes)),
        Arc::new(StringArray::from(collections)),
        Arc::new(StringArray::from(paths)),
        Arc::new(UInt64Array::from(starts)),
        Arc::new(UInt64Array::from(ends)),
        Arc::new(StringArray::from(headings)),
        Arc::new(StringArray::from(texts)),
        Arc::new(vectors),
        Arc::new(StringArray::from(hashes)),
        Arc::new(Int64Array::from(times)),
        Arc::new(StringArray::from(policies)),
    ];
    RecordBatch::try_new(schema.clone(), columns).map_err(arrow)
}

/// Typed access to the columns of a result batch.
pub(crate) struct Columns<'a> {
    batch: &'a RecordBatch,
    uri: &'a str,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch, uri: &'a str) -> Self {
        Self { batch, uri }
    }

    fn get<T: Array + 'static>(&self, name: &'static str) -> Result<&'a T> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| IndexError::ResultShape {
                uri: self.uri.to_owned(),
                column: name,
            })
    }

    pub(crate) fn str(&self, name: &'static str) -> Result<&'a StringArray> {
        self.get::<StringArray>(name)
    }

    pub(crate) fn u64(&self, name: &'static str) -> Result<&'a UInt64Array> {
        self.get::<UInt64Array>(name)
    }

    pub(crate) fn f32(&self, name: &'static str) -> Result<&'a Float32Array> {
        self.get::<Float32Array>(name)
    }

    /// The vector of row `i`.
    pub(crate) fn vector(&self, i: usize) -> Result<Vec<f32>> {
        let list = self.get::<FixedSizeListArray>(col::VECTOR)?;
        let row = list.value(i);
        let values =
            row.as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| IndexError::ResultShape {
                    uri: self.uri.to_owned(),
                    column: col::VECTOR,
                })?;
        Ok(values.values().to_vec())
    }
}

/// Arrow's error as the port's (it cannot be a `From`: both types are foreign here).
fn arrow(e: arrow_schema::ArrowError) -> IndexError {
    IndexError::Arrow(Box::new(e))
}
