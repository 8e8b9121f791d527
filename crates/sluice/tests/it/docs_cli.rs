//! `sluice ingest`, `sluice search` and `sluice ask` end to end: the real binary, the real
//! models from `make models`, LanceDB files in a temporary data dir.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sluice(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .current_dir(repo())
        .env("SLUICE_PSEUDONYM_KEY", "cli test key")
        .env("SLUICE_EMBED_THREADS", "2")
        .output()
        .expect("run sluice")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn ingest_search_ask_on_corpora() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sluice(tmp.path(), &["ingest", "corpora", "--collection", "demo"]);
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{so}\n{se}");
    assert!(
        so.contains("demo: 24 added, 0 updated, 0 unchanged, 0 failed"),
        "{so}"
    );
    // The summary names the vectors' model (`--embed-precision auto`: int8 on a VNNI CPU), and
    // the other precision is refused with a re-index message.
    let int8 = so.contains("(all-MiniLM-L6-v2-int8 vectors)");
    assert!(int8 || so.contains("(all-MiniLM-L6-v2 vectors)"), "{so}");
    let other = if int8 { "f32" } else { "int8" };
    let out = sluice(
        tmp.path(),
        &["search", "deploy", "-c", "demo", "--embed-precision", other],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("re-index"),
        "{}",
        text(&out.stderr)
    );

    // Again: everything unchanged, nothing embedded.
    let out = sluice(tmp.path(), &["ingest", "corpora", "--collection", "demo"]);
    assert!(text(&out.stdout).contains("0 added, 0 updated, 24 unchanged, 0 failed"));

    let out = sluice(
        tmp.path(),
        &[
            "search",
            "how do we promote the replica during a database failover",
            "--collection",
            "demo",
            "--json",
            "--k",
            "3",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 3);
    assert_eq!(
        hits[0]["source_path"], "runbooks/database-failover.md",
        "{v:#}"
    );
    for h in hits {
        assert!(h["span"]["start"].as_u64().unwrap() < h["span"]["end"].as_u64().unwrap());
        assert!(h["score"].as_f64().unwrap() > 0.0);
    }

    // Off-topic: nothing above the floor.
    let out = sluice(
        tmp.path(),
        &["search", "banana bread recipe with walnuts", "-c", "demo"],
    );
    assert!(
        text(&out.stdout).contains("no results"),
        "{}",
        text(&out.stdout)
    );

    // A secret in the query is refused at the prompt boundary, value not echoed.
    let key = "AKIAQYLPMN5HFIQR7XOB";
    let out = sluice(
        tmp.path(),
        &["search", &format!("who owns {key}"), "-c", "demo"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains(key) && !text(&out.stdout).contains(key));

    // ask, JSON, with the real model.
    let out = sluice(
        tmp.path(),
        &[
            "ask",
            "What are the steps to fail over the primary database?",
            "-c",
            "demo",
            "--json",
            "--max-tokens",
            "48",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["answer"].as_str().unwrap().is_empty());
    assert_eq!(v["model_called"], true);
    let cites: Vec<&str> = v["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source_path"].as_str().unwrap())
        .collect();
    assert!(
        cites.contains(&"runbooks/database-failover.md"),
        "{cites:?}"
    );
    assert!(v["timings_ms"]["retrieval_ms"].as_f64().unwrap() > 0.0);

    // ask off-topic: the fixed answer, no model call.
    let out = sluice(
        tmp.path(),
        &["ask", "How do I repot an orchid?", "-c", "demo", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model_called"], false);
    assert!(v["citations"].as_array().unwrap().is_empty());

    // Cited passages come with every answer; the extractive mode answers with them alone.
    let out = sluice(
        tmp.path(),
        &[
            "ask",
            "How long do we keep the nightly base backups of the ledger database?",
            "-c",
            "demo",
            "--json",
            "--extractive",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model_called"], false, "{v:#}");
    let passages = v["passages"].as_array().unwrap();
    assert!(!passages.is_empty(), "{v:#}");
    assert!(v["answer"].as_str().unwrap().contains("[1]"), "{v:#}");

    // `sluice eval`: two questions of each section, the extractive mode and the real model,
    // scored, with the HTML report written and the JSON report readable.
    let report = tmp.path().join("eval.html");
    let smollm = models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let out = sluice(
        tmp.path(),
        &[
            "eval",
            "--qa",
            "bench/qa/corpora_eval.toml",
            "--collection",
            "demo",
            "--model",
            "extractive",
            "--model",
            smollm.to_str().unwrap(),
            "--limit",
            "2",
            "--max-tokens",
            "24",
            "--report",
            report.to_str().unwrap(),
            "--json",
        ],
    );
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{so}\n{se}");
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    let settings = v["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 2);
    for s in settings {
        assert_eq!(s["summary"]["answerable"], 2, "{s:#}");
        assert_eq!(s["summary"]["leaks"], 0, "{s:#}");
        assert!(
            s["summary"]["retrieval_recall"].as_f64().unwrap() > 0.0,
            "{s:#}"
        );
    }
    // The extractive setting finds facts in the passages it quotes.
    assert!(settings[0]["summary"]["fact_recall"].as_f64().unwrap() > 0.0);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && !html.contains("http://") && !html.contains("https://"));

    // `sluice eval report` renders the same report again from the JSON, nothing re-run.
    let json = tmp.path().join("eval.json");
    std::fs::write(&json, &so).unwrap();
    let again = tmp.path().join("again.html");
    let out = sluice(
        tmp.path(),
        &[
            "eval",
            "report",
            json.to_str().unwrap(),
            "--report",
            again.to_str().unwrap(),
        ],
    );
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}\n{}", text(&out.stderr));
    assert_eq!(table.lines().count(), 2 + 2, "{table}");
    assert!(
        table.lines().nth(2).unwrap().starts_with("extractive"),
        "{table}"
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
}

fn models_dir() -> PathBuf {
    match std::env::var_os("SLUICE_MODELS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo().join("models"),
    }
}

#[test]
fn ask_rejects_bad_questions_and_bad_models_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("q.txt");
    std::fs::write(&bad, b"what is \xff\xfe this").unwrap();
    let out = sluice(
        tmp.path(),
        &["ask", "--question-file", bad.to_str().unwrap(), "-c", "x"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not UTF-8"),
        "{}",
        text(&out.stderr)
    );

    let out = sluice(tmp.path(), &["ask", "", "-c", "x", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "empty_question");

    let big = tmp.path().join("big.txt");
    std::fs::write(&big, "why ".repeat(256 * 1024)).unwrap();
    let out = sluice(
        tmp.path(),
        &[
            "ask",
            "--question-file",
            big.to_str().unwrap(),
            "-c",
            "x",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "question_too_long");

    let not_gguf = tmp.path().join("model.gguf");
    std::fs::write(&not_gguf, b"this is not a model").unwrap();
    let out = sluice(
        tmp.path(),
        &[
            "ask",
            "hello?",
            "-c",
            "x",
            "--model",
            not_gguf.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("GGUF") && !err.contains("panicked"), "{err}");
}

#[test]
fn ingest_reports_bad_files_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("docs");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("ok.md"), "# Hi\n\nThe canteen opens at eight.\n").unwrap();
    std::fs::write(root.join("bad.pdf"), b"%PDF-1.4 broken").unwrap();
    let f = std::fs::File::create(root.join("huge.txt")).unwrap();
    f.set_len(200 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("link.txt")).unwrap();
    let out = sluice(tmp.path(), &["ingest", root.to_str().unwrap(), "-c", "t"]);
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");
    assert!(so.contains("1 added") && so.contains("3 failed"), "{so}");
    for name in ["bad.pdf", "huge.txt", "link.txt"] {
        assert!(se.contains(name), "{name} not reported: {se}");
    }
}

#[test]
fn killed_ingest_leaves_a_consistent_index_and_a_rerun_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("docs");
    std::fs::create_dir_all(&root).unwrap();
    for i in 0..60 {
        let body: String = (0..40)
            .map(|j| {
                format!("Paragraph {j} of note {i}: the rota for team {i} changes weekly.\n\n")
            })
            .collect();
        std::fs::write(
            root.join(format!("note{i:02}.md")),
            format!("# Note {i}\n\n{body}"),
        )
        .unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["ingest", root.to_str().unwrap(), "-c", "k", "--data-dir"])
        .arg(tmp.path())
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(6000));
    child.kill().unwrap();
    child.wait().unwrap();

    let out = sluice(tmp.path(), &["ingest", root.to_str().unwrap(), "-c", "k"]);
    let so = text(&out.stdout);
    assert!(out.status.success(), "{so}\n{}", text(&out.stderr));
    // Every document is there exactly once, whichever were done before the kill.
    let (added, unchanged) = parse_counts(&so);
    assert_eq!(added + unchanged, 60, "{so}");
    let out = sluice(tmp.path(), &["ingest", root.to_str().unwrap(), "-c", "k"]);
    assert!(text(&out.stdout).contains("0 added, 0 updated, 60 unchanged"));
}

fn parse_counts(s: &str) -> (usize, usize) {
    let num = |label: &str| -> usize {
        let i = s.find(label).unwrap();
        s[..i]
            .trim_end()
            .rsplit([' ', ',', ':'])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (num(" added"), num(" unchanged"))
}
