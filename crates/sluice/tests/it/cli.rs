//! The `sluice` binary end to end: exit codes, stdin handling, JSON shapes, policy commands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sluice(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(repo())
        .env("SLUICE_PSEUDONYM_KEY", "cli test key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sluice");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A closed pipe is fine: the child may stop reading early on bad input.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread");
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const CANARY_EMAIL: &str = "marta.kowalczyk@example-corp.eu";
const CANARY_KEY: &str = "AKIAQYLPMN5HFIQR7XOB";

#[test]
fn redacts_stdin_to_stdout() {
    let out = sluice(
        &["redact", "--boundary", "context"],
        format!("write to {CANARY_EMAIL} today\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "write to [EMAIL_ADDRESS] today\n");
}

#[test]
fn a_pasted_secret_blocks_the_prompt_with_exit_1_and_no_output() {
    let out = sluice(
        &["redact", "--boundary", "prompt"],
        format!("is {CANARY_KEY} valid?").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("secrets.aws.access_key_id"), "{err}");
    assert!(
        !err.contains(CANARY_KEY),
        "the error must not echo the value"
    );
}

#[test]
fn invalid_utf8_is_a_clear_error_and_nothing_is_written() {
    let mut input = b"hello jane@acme.io ".to_vec();
    input.extend_from_slice(&[0xff, 0xfe, b'x']);
    let out = sluice(&["redact"], &input);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing is written on bad input");
    assert!(
        text(&out.stderr).contains("not valid UTF-8 (byte offset 19)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn large_input_streams_and_equals_batch() {
    // 12 MiB: past the whole-input threshold, so this exercises the streaming path.
    let line = format!("Row for {CANARY_EMAIL}; card 4111 1111 1111 1111; key {CANARY_KEY}.\n");
    let input = line.repeat((12 << 20) / line.len());
    let out = sluice(&["redact", "--boundary", "context"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let want = "Row for [EMAIL_ADDRESS]; card [CREDIT_CARD_NUMBER]; key [AWS_ACCESS_KEY_ID].\n"
        .repeat((12 << 20) / line.len());
    assert!(
        out.stdout == want.as_bytes(),
        "streamed output differs from the expected redaction"
    );
}

#[test]
fn jsonl_one_result_per_line_with_offsets_and_errors_in_place() {
    let input = format!(
        "{{\"id\": 7, \"text\": \"mail {CANARY_EMAIL}\"}}\n{{\"text\": 12}}\nnot json\n{{\"text\": \"key {CANARY_KEY}\"}}\n"
    );
    let out = sluice(
        &["redact", "--jsonl", "--boundary", "prompt"],
        input.as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad line makes the exit code 2"
    );
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(CANARY_EMAIL) && !stdout.contains(CANARY_KEY));
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["text"], "mail [EMAIL_ADDRESS]");
    let f = &lines[0]["findings"][0];
    assert_eq!(
        (f["entity"].as_str(), f["start"].as_u64(), f["end"].as_u64()),
        (
            Some("EMAIL_ADDRESS"),
            Some(5),
            Some(5 + CANARY_EMAIL.len() as u64)
        )
    );
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("line 2:")),
        "{}",
        lines[1]
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("line 3:")),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3]["blocked"]["rule"], "secrets.aws.access_key_id");
    assert!(lines[3]["text"].is_null());
}

#[test]
fn json_mode_reports_findings_for_one_document() {
    let out = sluice(
        &["redact", "--json", "--boundary", "ingest"],
        format!("contact {CANARY_EMAIL}").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let t = v["text"].as_str().expect("text");
    assert!(
        t.starts_with("contact <EMAIL_ADDRESS_") && t.ends_with('>'),
        "{t}"
    );
    assert_eq!(v["findings"][0]["action"], "pseudonymize");
}

#[test]
fn policy_check_and_test_pass_on_the_shipped_policies() {
    let out = sluice(&["policy", "check", "policies"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok: policies"));
    let out = sluice(&["policy", "test", "policies"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(" 0 failed"));
}

#[test]
fn an_invalid_policy_reports_file_line_col_and_loads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("pii")).expect("mkdir");
    std::fs::write(
        dir.path().join("sluice.toml"),
        "version = 1\npacks = [\"pii\"]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("pii/bad.toml"),
        "version = 1\ncategory = \"pii\"\n\n[[detector]]\nid = \"pii.bad\"\nentity = \"BAD\"\npattern = '[0-9]+'\n",
    )
    .expect("write");
    let d = dir.path().to_string_lossy().into_owned();
    let out = sluice(&["policy", "check", &d], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("pii/bad.toml:7:11: rule pii.bad: pattern can match unbounded length"),
        "{err}"
    );
    let out = sluice(&["redact", "--policy", &d], b"x");
    assert_eq!(
        out.status.code(),
        Some(2),
        "redact refuses to run on an invalid policy"
    );
    assert!(out.stdout.is_empty());
}

/// Item 11 of the adversarial review: `sluice keys new` used to grant every collection
/// when `--collections` was left out. Now a forgotten flag grants nothing.
#[test]
fn keys_new_grants_no_collection_unless_named() {
    let out = sluice(&["keys", "new", "--principal", "app"], b"");
    let so = text(&out.stdout);
    assert!(out.status.success(), "{so}\n{}", text(&out.stderr));
    assert!(so.contains("collections = []"), "{so}");
    assert!(!so.contains("\"*\""), "{so}");

    let out = sluice(
        &[
            "keys",
            "new",
            "--principal",
            "app",
            "--collections",
            "hr,handbook",
        ],
        b"",
    );
    let so = text(&out.stdout);
    assert!(out.status.success(), "{so}");
    assert!(so.contains("\"hr\"") && so.contains("\"handbook\""), "{so}");
}

/// Error types that repeat their source in their own message are printed with each cause
/// once (anyhow's chain would say "model folder … not found" twice).
#[test]
fn an_error_names_each_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let models = dir.path().join("no-models");
    let (data, models) = (
        data.to_str().expect("utf-8"),
        models.to_str().expect("utf-8"),
    );
    let out = sluice(
        &[
            "--data-dir",
            data,
            "ingest",
            "corpora",
            "-c",
            "demo",
            "--models",
            models,
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: embedding model: "), "{err}");
    assert_eq!(
        err.matches("not found: run `make models`").count(),
        1,
        "{err}"
    );
}
