//! Regression tests for the holes an adversarial review of the gateway found (issue "One
//! guarded path"), each tried as an attacker with a role's key against a real server on
//! loopback. Each failed (or aborted the process) before its fix.

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use sluice_audit::{AuditQuery, Page};

use crate::support::*;

/// The AWS access key id the corpus manifest plants (the prompt boundary blocks it).
fn aws_key() -> String {
    manifest()
        .planted
        .into_iter()
        .find(|p| p.entity.starts_with("AWS_ACCESS_KEY"))
        .expect("manifest has an AWS key id")
        .value
}

/// Every record of `endpoint` in `s`'s audit log.
fn records_of(s: &Server, endpoint: &str) -> Vec<sluice_audit::RequestRecord> {
    let log = s.state.audit().clone();
    let q = AuditQuery {
        endpoint: Some(endpoint.to_owned()),
        ..AuditQuery::default()
    };
    std::thread::spawn(move || {
        log.sync_index().expect("sync index");
        log.query(&q, &Page::default()).expect("query")
    })
    .join()
    .expect("audit thread")
    .records
    .into_iter()
    .filter_map(|r| r.request)
    .collect()
}

#[test]
fn deep_audit_offsets_and_multibyte_times_are_400s_not_aborts() {
    let s = echo_server();
    block_on(async {
        // tantivy reserved 2×(offset+limit): this aborted the whole process.
        let r = s
            .get(Some("auditor"), "/v1/audit?offset=100000000000")
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(!r.text().contains("100000000000"), "{}", r.text());
        assert!(s.record(&r.request_id()).is_some());
        // `split_at` inside a multi-byte character panicked: empty reply, no record.
        for t in ["2%E2%82%AC", "%C3%A9", "1%F0%9F%98%80"] {
            for field in ["since", "until"] {
                let r = s
                    .get(Some("auditor"), &format!("/v1/audit?{field}={t}"))
                    .await;
                assert_eq!(r.status, 400, "{field}={t}: {}", r.text());
                assert!(s.record(&r.request_id()).is_some());
            }
        }
        // The server is still up.
        assert_eq!(
            s.get(Some("auditor"), "/v1/audit?limit=1").await.status,
            200
        );
    });
}

#[test]
fn a_client_that_hangs_up_still_leaves_a_record() {
    // A slow model: the non-streamed answer is far from ready when the client leaves.
    let s = Server::start(Opts {
        generator: Gen::SlowEcho(Duration::from_millis(50)),
        ..Opts::default()
    });
    let addr = s.url.trim_start_matches("http://").to_owned();
    let body =
        json!({"question": "How are travel expenses reimbursed?", "collections": ["handbook"]})
            .to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/ask HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        s.key("reader_hb"),
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    conn.shutdown(std::net::Shutdown::Both).unwrap();
    drop(conn);
    // The record is written by the request's guard once the server notices.
    let mut recs = Vec::new();
    for _ in 0..100 {
        recs = records_of(&s, "/v1/ask");
        if !recs.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        recs.len(),
        1,
        "exactly one record for the abandoned request"
    );
    assert_eq!(recs[0].principal.as_deref(), Some("reader_hb"));
    assert_eq!(recs[0].decision.label(), "error", "{:?}", recs[0].decision);
}

#[test]
fn invalid_collection_names_are_counted_never_recorded() {
    let s = echo_server();
    let key = aws_key();
    block_on(async {
        let evil = format!("jane.doe@acme-corp.com {key} 4111111111111111");
        // A valid granted name first, then the payload: 400 invalid_collection.
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/search",
                &json!({"query": "travel", "collections": ["handbook", evil]}),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        let rec = s.record(&r.request_id()).unwrap();
        let text = serde_json::to_string(&rec).unwrap();
        assert!(!text.contains(&key) && !text.contains("jane.doe"), "{text}");
        let req = rec.request.unwrap();
        assert_eq!(req.collections_requested, vec!["handbook".to_owned()]);
        assert_eq!(req.collections_rejected, 1);
        // A valid name that is not granted, then the payload: 403, and still no payload.
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": "travel?", "collections": ["engineering", evil]}),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        let text = serde_json::to_string(&s.record(&r.request_id()).unwrap()).unwrap();
        assert!(!text.contains(&key) && !text.contains("jane.doe"), "{text}");
        assert_one_record_no_leak(s, &r, &[&key, "jane.doe@acme-corp.com"]);
    });
}

#[test]
fn redact_is_no_pseudonym_oracle() {
    let s = echo_server();
    block_on(async {
        let text = "Escalate to jane.doe@acme-corp.com";
        let body = json!({"text": text, "boundary": "ingest"});
        let a = s.post(Some("reader_hb"), "/v1/redact", &body).await;
        let b = s.post(Some("reader_hb"), "/v1/redact", &body).await;
        assert_eq!(a.status, 200, "{}", a.text());
        let (ta, tb) = (
            a.json()["text"].as_str().unwrap().to_owned(),
            b.json()["text"].as_str().unwrap().to_owned(),
        );
        assert!(ta.contains("<EMAIL_ADDRESS_"), "{ta}");
        // What the gateway stores for the same value, under its real key.
        let stored = default_redactor()
            .redact(text, sluice_policy::Boundary::Ingest)
            .text;
        assert_ne!(ta, stored, "/v1/redact computed the stored token");
        assert_ne!(
            ta, tb,
            "a per-request key: guesses cannot be compared across calls"
        );
    });
}

#[test]
fn split_secrets_and_stop_strings_are_screened_on_chat() {
    let s = echo_server();
    let key = aws_key();
    let (a, b) = key.split_at(10);
    block_on(async {
        let parts = json!({
            "model": "sluice",
            "sluice": {"rag": false},
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": a}, {"type": "text", "text": b}]}],
        });
        let r = s
            .post(Some("reader_all"), "/v1/chat/completions", &parts)
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(!r.text().contains(a) && !r.text().contains(b));
        let turns = json!({
            "model": "sluice",
            "sluice": {"rag": false},
            "messages": [
                {"role": "user", "content": a},
                {"role": "user", "content": b}],
        });
        let r = s
            .post(Some("reader_all"), "/v1/chat/completions", &turns)
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        // A key that is refused in content is refused in `stop` too.
        let stop = json!({
            "model": "sluice",
            "sluice": {"rag": false},
            "stop": [key],
            "messages": [{"role": "user", "content": "hello"}],
        });
        let r = s
            .post(Some("reader_all"), "/v1/chat/completions", &stop)
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert!(rec.findings.iter().any(|f| f.boundary == "prompt"));
        assert_one_record_no_leak(s, &r, &[&key]);
    });
}

#[test]
fn audit_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = echo_server();
    block_on(async {
        let _ = s.get(Some("reader_hb"), "/v1/models").await;
    });
    let mut seen = 0;
    for e in std::fs::read_dir(&s.audit_dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".jsonl") || name.contains("checkpoint") {
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
            seen += 1;
        }
    }
    assert!(seen > 0, "no segment file found");
}
