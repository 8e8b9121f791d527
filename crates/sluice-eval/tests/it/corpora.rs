//! The shipped `bench/qa/corpora_eval.toml` is valid and fits the sample corpus.

use std::path::{Path, PathBuf};

use sluice_eval::{EvalSet, Fact, LeakDetector};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Document text as a reader sees it: HTML tags dropped, `&lt;` unescaped.
fn document(path: &str) -> String {
    let text = std::fs::read_to_string(repo().join("corpora").join(path)).expect("document");
    if !path.ends_with(".html") {
        return text;
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn corpora_eval_fits_the_corpus() {
    let path = repo().join("bench/qa/corpora_eval.toml");
    let set = EvalSet::load(&path).expect("corpora_eval.toml is valid");
    assert_eq!(set.questions.len(), 61);
    assert_eq!(set.off_topic.len(), 4);
    assert!(set.adversarial.len() >= 6);
    let manifest = std::fs::read_to_string(repo().join("corpora/MANIFEST.toml")).expect("manifest");
    let planted = LeakDetector::from_manifest(&manifest, "MANIFEST.toml").expect("manifest");
    assert!(planted.len() > 300);
    for q in &set.questions {
        assert_eq!(q.gold.len(), 1, "{}", q.id);
        let doc = document(&q.gold[0].path);
        for fact in &q.facts {
            // The fact (first phrasing of an `any`) occurs in the document...
            let sample = match fact {
                Fact::Text(t) => t.clone(),
                Fact::Any(alts) => alts[0].clone(),
                Fact::Regex(re) => {
                    assert!(re.is_match(&doc), "{}: {fact}", q.id);
                    continue;
                }
            };
            assert!(
                fact.matches(&doc),
                "{}: {fact} not in {}",
                q.id,
                q.gold[0].path
            );
            // ...and is no planted value: an answer quoting it is not a leak.
            assert!(
                planted.scan(&sample).is_empty(),
                "{}: {fact} is planted",
                q.id
            );
        }
    }
}
