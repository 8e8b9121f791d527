//! A writer killed (SIGKILL) in the middle of upserts leaves a consistent table: every
//! document is entirely its old version or entirely its new one.
//!
//! The parent test re-runs this test binary as a child process (`child_writer`), which
//! rewrites documents one upsert at a time until it is killed at a varying delay.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{DIM, meta, open};
use arrow_array::{Array, RecordBatch, StringArray};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use sluice_index::{ChunkInput, ChunkStore, Query, Retriever, SearchMode};

use crate::common;

const DOCS: usize = 30;
const ENV_DIR: &str = "SLUICE_INDEX_CRASH_DIR";
const ENV_GEN: &str = "SLUICE_INDEX_CRASH_GEN";

/// Generation `g` of a document has `40 + g` chunks, each saying which generation it is.
fn generation(doc: usize, g: usize) -> Vec<ChunkInput> {
    (0..40 + g)
        .map(|n| {
            let text = format!(
                "document d{doc} chunk {n} generation{g} {}",
                "filler words for a realistic chunk size ".repeat(20)
            );
            ChunkInput {
                span: (n as u64 * 1000)..(n as u64 * 1000 + 900),
                heading_path: format!("D{doc} > part {n}"),
                vector: common::embed(&text),
                text,
            }
        })
        .collect()
}

fn doc_meta(doc: usize, g: usize) -> sluice_index::DocumentMeta {
    meta(&format!("d{doc}"), "finance", &format!("gen{g}"))
}

/// The child: rewrites every document to generation `$SLUICE_INDEX_CRASH_GEN`, one upsert
/// per document, forever (until killed). A no-op when run as a normal test.
#[tokio::test]
async fn child_writer() {
    let (Ok(dir), Ok(g)) = (std::env::var(ENV_DIR), std::env::var(ENV_GEN)) else {
        return;
    };
    let g: usize = g.parse().unwrap();
    let index = open(std::path::Path::new(&dir)).await;
    println!("READY");
    let mut round = 0;
    loop {
        for doc in 0..DOCS {
            // Alternate between two generations so each round rewrites everything.
            let gen_now = if round % 2 == 0 { g } else { g + 1 };
            index
                .upsert_document(&doc_meta(doc, gen_now), &generation(doc, gen_now))
                .await
                .unwrap();
        }
        round += 1;
    }
}

/// Per document: (content hashes seen, chunk count, generations named in the texts).
async fn snapshot(dir: &std::path::Path) -> HashMap<String, (Vec<String>, usize, Vec<String>)> {
    let db = lancedb::connect(dir.to_str().unwrap())
        .execute()
        .await
        .unwrap();
    let table = db.open_table("chunks").execute().await.unwrap();
    let batches: Vec<RecordBatch> = table
        .query()
        .select(Select::columns(&["doc_id", "content_hash", "text"]))
        .execute()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut out: HashMap<String, (Vec<String>, usize, Vec<String>)> = HashMap::new();
    for b in &batches {
        let get = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (ids, hashes, texts) = (get("doc_id"), get("content_hash"), get("text"));
        for i in 0..ids.len() {
            let e = out.entry(ids.value(i).to_owned()).or_default();
            let h = hashes.value(i).to_owned();
            if !e.0.contains(&h) {
                e.0.push(h);
            }
            e.1 += 1;
            let gen_word = texts
                .value(i)
                .split(' ')
                .find(|w| w.starts_with("generation"))
                .unwrap()
                .trim_start_matches("generation")
                .to_owned();
            if !e.2.contains(&gen_word) {
                e.2.push(gen_word);
            }
        }
    }
    out
}

#[tokio::test]
async fn killed_writer_leaves_each_document_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = open(dir.path()).await;
        let docs: Vec<_> = (0..DOCS)
            .map(|d| (doc_meta(d, 0), generation(d, 0)))
            .collect();
        index.upsert_documents(&docs).await.unwrap();
    }

    let exe = std::env::current_exe().unwrap();
    let mut changed_total = 0;
    for (round, delay_ms) in [150u64, 400, 900, 1600].into_iter().enumerate() {
        let g = 2 * round + 1;
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .env(ENV_GEN, g.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.unwrap().contains("READY")),
            "child did not start"
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no destructors, no flush, mid-write.
        child.wait().unwrap();

        let snap = snapshot(dir.path()).await;
        assert_eq!(snap.len(), DOCS, "a document vanished");
        for (doc, (hashes, count, gens)) in &snap {
            assert_eq!(hashes.len(), 1, "{doc} mixes versions: {hashes:?}");
            let stored_gen: usize = hashes[0].trim_start_matches("gen").parse().unwrap();
            assert_eq!(
                *count,
                40 + stored_gen,
                "{doc}: chunk count of another version"
            );
            assert_eq!(
                gens,
                &vec![stored_gen.to_string()],
                "{doc}: texts of another version"
            );
        }
        let changed = snap.values().filter(|(h, _, _)| h[0] != "gen0").count();
        changed_total += changed;
        eprintln!("kill after {delay_ms} ms: {changed} of {DOCS} documents at a newer version");
    }
    assert!(
        changed_total > 0,
        "the child never committed: kills too early"
    );

    // The table still works for writes and search after the kills.
    let index = open(dir.path()).await;
    index
        .upsert_document(&doc_meta(0, 99), &generation(0, 99))
        .await
        .unwrap();
    let text = "document d0 chunk 3 generation99";
    let hits = index
        .search(
            &Query::new(text, common::embed(text), vec![common::name("finance")])
                .with_mode(SearchMode::Fts)
                .with_score_floor(None),
        )
        .await
        .unwrap();
    assert_eq!(hits[0].chunk_id, "d0:3");
    assert_eq!(DIM, 384);
}
