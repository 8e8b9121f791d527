//! The front half of ingestion: turn a file into structured text, then into chunks that keep
//! their byte span and heading path for citations. No policy, embedding or storage here: the
//! pipeline redacts each chunk at the ingest boundary before it is embedded or stored.
//!
//! Extraction is built for hostile input: it never panics or aborts on any bytes, works within
//! an [`ExtractLimits`] budget (input size, nesting depth, inflated bytes, output text, an
//! optional deadline), and its errors never contain document content.
//!
//! ```
//! use sluice_ingest::{chunk, extract, ChunkConfig, Format};
//!
//! let md = b"# Runbook\n\n## Failover\n\nPromote the replica, then repoint the VIP.\n";
//! let doc = extract(md, Format::Markdown)?;
//! let chunks = chunk(&doc, &ChunkConfig::default());
//! assert_eq!(chunks[0].heading_path, "Runbook > Failover");
//! assert_eq!(&md[chunks[0].span.clone()], &b"Promote the replica, then repoint the VIP."[..]);
//! # Ok::<(), sluice_ingest::ExtractError>(())
//! ```

mod chunk;
mod docx;
mod error;
mod extract;
mod html;
mod limits;
mod pdf;
mod pdf_scan;

pub use chunk::{Chunk, ChunkConfig, chunk, estimate_tokens};
pub use error::ExtractError;
pub use extract::{Block, BlockKind, Document, Format, extract, extract_with_limits};
pub use limits::ExtractLimits;
