//! The shipped default policy (`policies/`) against the sample documents (`corpora/`): every
//! planted value in `corpora/MANIFEST.toml` must be gone after the ingest boundary, streaming
//! must equal batch on real documents, and redacting redacted text must change nothing.

use sluice_policy::{Action, Boundary, Redactor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::repo;

use crate::support;

fn default_policy() -> Redactor {
    support::default_policy(b"corpora test")
}

#[derive(serde::Deserialize)]
struct Manifest {
    planted: Vec<Planted>,
}

#[derive(serde::Deserialize)]
struct Planted {
    file: String,
    entity: String,
    value: String,
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(repo().join("corpora/MANIFEST.toml"))
        .expect("corpora/MANIFEST.toml");
    toml::from_str(&text).expect("manifest parses")
}

fn corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "tools") {
                    walk(&p, out);
                }
            } else if p
                .extension()
                .is_some_and(|x| x == "md" || x == "txt" || x == "html")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join("corpora"), &mut out);
    out.sort();
    out
}

#[test]
fn shipped_policy_tests_pass() {
    let report = sluice_policy::run_tests(&default_policy());
    let failing: Vec<_> = report
        .files
        .iter()
        .filter(|f| !f.failures.is_empty())
        .map(|f| (&f.file, &f.failures))
        .collect();
    assert!(failing.is_empty(), "{failing:#?}");
}

#[test]
fn no_planted_value_survives_ingest() {
    let r = default_policy();
    let m = manifest();
    assert!(
        m.planted.len() >= 100,
        "the manifest plants {} values",
        m.planted.len()
    );
    let mut redacted: BTreeMap<&str, (String, sluice_policy::Redaction)> = BTreeMap::new();
    for p in &m.planted {
        redacted.entry(&p.file).or_insert_with(|| {
            let text = std::fs::read_to_string(repo().join("corpora").join(&p.file))
                .expect("planted file");
            let out = r.redact(&text, Boundary::Ingest);
            (text, out)
        });
    }
    let mut survived = Vec::new();
    let mut wrong_entity = Vec::new();
    for p in &m.planted {
        let (text, out) = &redacted[p.file.as_str()];
        if out.text.contains(&p.value) {
            // Report entity and file only: the value itself stays out of test output.
            survived.push(format!("{} in {}", p.entity, p.file));
            continue;
        }
        let start = text
            .find(&p.value)
            .expect("manifest value occurs in its file");
        let end = start + p.value.len();
        let covered_as = out
            .findings
            .iter()
            .find(|f| f.start < end && start < f.end)
            .map(|f| f.entity.to_string());
        if covered_as.as_deref() != Some(p.entity.as_str()) {
            wrong_entity.push(format!(
                "{} in {} found as {:?}",
                p.entity, p.file, covered_as
            ));
        }
    }
    assert!(
        survived.is_empty(),
        "{} of {} planted values survive ingest: {survived:#?}",
        survived.len(),
        m.planted.len()
    );
    let exact = m.planted.len() - wrong_entity.len();
    let recall = exact as f64 / m.planted.len() as f64;
    eprintln!(
        "planted values: {} gone; {exact} found as their own entity (recall {recall:.3})",
        m.planted.len()
    );
    assert!(
        recall >= 0.95,
        "entity recall {recall:.3}: {wrong_entity:#?}"
    );
}

#[test]
fn streaming_equals_batch_on_every_document() {
    let r = default_policy();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).expect("read");
        let batch = r.redact(&text, Boundary::Context).text;
        // Chunk sizes that cut values in many places: 1..=97 bytes, varying.
        let mut s = r.stream(Boundary::Context);
        let mut out = String::new();
        let (mut i, mut step) = (0, 1);
        while i < text.len() {
            let mut j = (i + step).min(text.len());
            while !text.is_char_boundary(j) {
                j += 1;
            }
            out.push_str(&s.push(&text[i..j]).expect("context never blocks"));
            assert!(
                batch.starts_with(&out),
                "{}: streaming emitted text the batch run does not",
                path.display()
            );
            i = j;
            step = step % 97 + 7;
        }
        out.push_str(&s.finish().expect("context never blocks"));
        assert!(
            out == batch,
            "{}: streaming differs from batch",
            path.display()
        );
    }
}

#[test]
fn redacting_twice_changes_nothing() {
    let r = default_policy();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).expect("read");
        for b in [Boundary::Ingest, Boundary::Context, Boundary::Response] {
            let once = r.redact(&text, b);
            let twice = r.redact(&once.text, b);
            let again: Vec<_> = twice
                .findings
                .iter()
                .filter(|f| f.action != Action::Shadow)
                .map(|f| (&*f.rule, f.start))
                .collect();
            assert!(
                again.is_empty(),
                "{} at {b}: redacted output matches again: {again:?}",
                path.display()
            );
        }
    }
}

#[test]
fn prompt_boundary_blocks_pasted_secrets() {
    let r = default_policy();
    let m = manifest();
    let secret = m
        .planted
        .iter()
        .find(|p| p.entity == "AWS_ACCESS_KEY_ID")
        .expect("an AWS key is planted");
    let out = r.redact(
        &format!("why does {} not work?", secret.value),
        Boundary::Prompt,
    );
    let b = out.blocked.expect("a pasted secret blocks the prompt");
    assert!(b.rule.contains("aws"), "{}", b.rule);
}

/// Chunks are cut out of the whole-document redaction with `Redaction::slice_for`; a value
/// cut by a chunk boundary must not be half-visible in either chunk.
#[test]
fn slices_of_a_redaction_never_show_a_planted_value() {
    let r = default_policy();
    let m = manifest();
    let mut files: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &m.planted {
        files.entry(&p.file).or_default().push(&p.value);
    }
    for (file, values) in files {
        let text = std::fs::read_to_string(repo().join("corpora").join(file)).expect("read");
        let out = r.redact(&text, Boundary::Ingest);
        assert_eq!(
            out.slice_for(0..text.len()),
            out.text,
            "{file}: whole slice"
        );
        for width in [5usize, 17, 64, 301] {
            let mut start = 0;
            while start < text.len() {
                let mut end = (start + width).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                let slice = out.slice_for(start..end);
                for v in &values {
                    assert!(!slice.contains(*v), "{file}: a value shows in a slice");
                    // The piece of a value that this slice cuts out must not show either,
                    // unless that piece is ordinary text found elsewhere in the output.
                    let Some(vs) = text.find(*v) else { continue };
                    let (a, b) = (start.max(vs), end.min(vs + v.len()));
                    if b > a + 6 && text.is_char_boundary(a) && text.is_char_boundary(b) {
                        let piece = &text[a..b];
                        if slice.contains(piece) {
                            assert!(
                                out.text.contains(piece),
                                "{file}: part of a value shows in a slice"
                            );
                        }
                    }
                }
                start = end;
            }
        }
    }
}

/// A shadowed finding (a URL, a date) leaves text as it is, so it must never win an overlap
/// against one that replaces text: a code name or a token inside a link is still redacted.
#[test]
fn a_shadowed_url_never_hides_a_value_inside_it() {
    let r = default_policy();
    let text = "Plans: https://wiki.example.com/projects/Kestrel/roadmap (see Project Kestrel).";
    for b in [Boundary::Ingest, Boundary::Context, Boundary::Response] {
        let out = r.redact(text, b);
        assert!(!out.text.contains("Kestrel"), "{b}: {}", out.text);
    }
}
