//! Every limit and error: its status, the JSON error shape with the request id, headers
//! (`Retry-After`, `x-request-id`, `x-sluice-policy`), and the audit record it leaves.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

const Q: &str = "How are travel expenses reimbursed?";

/// Asserts an error response and its audit record; returns the record.
fn expect_error(
    s: &Server,
    r: &Resp,
    status: u16,
    code: &str,
    decision: &str,
) -> sluice_audit::RequestRecord {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(r.error_code(), code, "{}", r.text());
    let rec = s
        .record(&r.request_id())
        .unwrap_or_else(|| panic!("no audit record for {code}"))
        .request
        .unwrap();
    assert_eq!(rec.status, status);
    assert_eq!(rec.decision.label(), decision, "{:?}", rec.decision);
    rec
}

#[test]
fn client_errors_have_one_shape_and_one_record() {
    let s = echo_server();
    block_on(async {
        // 401: no key, unknown key, key in x-api-key works.
        let r = s.post(None, "/v1/ask", &json!({"question": Q})).await;
        let rec = expect_error(s, &r, 401, "unauthenticated", "denied");
        assert_eq!(rec.principal, None);
        let r = send(
            client()
                .post(format!("{}/v1/ask", s.url))
                .bearer_auth("sluice_nope")
                .json(&json!({"question": Q})),
        )
        .await;
        expect_error(s, &r, 401, "unauthenticated", "denied");
        let r = send(
            client()
                .get(format!("{}/v1/models", s.url))
                .header("x-api-key", s.key("reader_hb")),
        )
        .await;
        assert_eq!(r.status, 200);

        // 403: wrong role.
        let r = s.get(Some("reader_hb"), "/v1/audit").await;
        let rec = expect_error(s, &r, 403, "forbidden", "denied");
        assert_eq!(rec.principal.as_deref(), Some("reader_hb"));
        // The role is checked before the body or query: 403 even for a malformed one.
        let r = s.get(Some("reader_hb"), "/v1/audit?limit=banana").await;
        expect_error(s, &r, 403, "forbidden", "denied");
        let r = send(
            client()
                .post(format!("{}/v1/ask", s.url))
                .bearer_auth(s.key("auditor"))
                .header("content-type", "application/json")
                .body("{\"question\": "),
        )
        .await;
        expect_error(s, &r, 403, "forbidden", "denied");
        assert!(r.text().contains("`reader`"), "{}", r.text());

        // 403: policy block names the rule, never the value.
        let key = "AKIAQYLPMN5HFIQR7XOB";
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": format!("why is {key} rejected?")}),
            )
            .await;
        let rec = expect_error(s, &r, 403, "policy_block", "blocked");
        let rule = r.json()["error"]["rule"].as_str().unwrap().to_owned();
        assert!(rule.contains("aws"), "{rule}");
        assert!(!r.text().contains(key));
        // The refusal's record still says what was found (rule and type), never the value.
        assert!(
            rec.findings.iter().any(|f| f.rule == rule),
            "{:?}",
            rec.findings
        );
        assert!(
            rec.findings
                .iter()
                .all(|f| !f.value_hmacs.iter().any(|h| h.contains(key)))
        );
        assert!(
            matches!(rec.decision, sluice_audit::Decision::Blocked { rule: ref x } if *x == rule)
        );
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/embeddings",
                &json!({"input": [format!("key {key}")]}),
            )
            .await;
        expect_error(s, &r, 403, "policy_block", "blocked");

        // 400: malformed JSON, wrong types (with the serde path, value scrubbed).
        let r = send(
            client()
                .post(format!("{}/v1/ask", s.url))
                .bearer_auth(s.key("reader_hb"))
                .header("content-type", "application/json")
                .body("{\"question\": "),
        )
        .await;
        expect_error(s, &r, 400, "bad_json", "denied");
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": Q, "k": format!("x{key}")}),
            )
            .await;
        expect_error(s, &r, 400, "bad_json", "denied");
        let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(msg.contains("k"), "{msg}");
        assert!(!msg.contains(key), "{msg}");
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/chat/completions",
                &json!({"messages": [{"role": "user", "content": 5}]}),
            )
            .await;
        expect_error(s, &r, 400, "bad_json", "denied");
        assert!(r.text().contains("messages[0]"), "{}", r.text());
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/redact",
                &json!({"text": "x", "boundary": "sideways"}),
            )
            .await;
        expect_error(s, &r, 400, "invalid_request", "denied");
        for path in ["/v1/ask", "/v1/chat/completions"] {
            let body = json!({"question": Q, "messages": [{"role": "user", "content": Q}], "max_tokens": 5000});
            let r = s.post(Some("reader_hb"), path, &body).await;
            expect_error(s, &r, 400, "invalid_request", "denied");
        }
        let r = s.get(Some("auditor"), "/v1/audit?limit=abc").await;
        expect_error(s, &r, 400, "bad_query", "denied");

        // 415: not JSON.
        let r = send(
            client()
                .post(format!("{}/v1/ask", s.url))
                .bearer_auth(s.key("reader_hb"))
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await;
        expect_error(s, &r, 415, "unsupported_media_type", "denied");

        // 404: unknown route (JSON fallback), unknown record; 405: wrong method.
        let r = s.get(Some("reader_hb"), "/v1/nope").await;
        let rec = expect_error(s, &r, 404, "not_found", "denied");
        assert_eq!(rec.endpoint, "(no route)");
        let r = s.get(None, "/v1/nope/AKIAQYLPMN5HFIQR7XOB").await;
        expect_error(s, &r, 404, "not_found", "denied");
        let r = s
            .get(Some("auditor"), "/v1/audit/01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .await;
        expect_error(s, &r, 404, "not_found", "denied");
        let r = s.get(Some("reader_hb"), "/v1/ask").await;
        expect_error(s, &r, 405, "method_not_allowed", "denied");
        let r = s
            .delete(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents/no/such.md",
            )
            .await;
        expect_error(s, &r, 404, "not_found", "denied");

        // 422: unsupported document type.
        let r = s
            .post(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents",
                &json!({"source_path": "x.exe", "text": "MZ"}),
            )
            .await;
        expect_error(s, &r, 422, "unsupported_document", "denied");
    });
}

#[test]
fn body_limit_gives_413() {
    let s = Server::start(Opts {
        limits: "body_bytes = 4096\nrate_limit_rps = 0".into(),
        ..Opts::default()
    });
    block_on(async {
        let big = "word ".repeat(2000);
        let r = s
            .post(Some("reader_hb"), "/v1/ask", &json!({"question": big}))
            .await;
        expect_error(&s, &r, 413, "body_too_large", "denied");
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(big.into_bytes()).file_name("big.md"),
        );
        let r = send(
            client()
                .post(format!("{}/v1/collections/handbook/documents", s.url))
                .bearer_auth(s.key("ingester_hb"))
                .multipart(form),
        )
        .await;
        expect_error(&s, &r, 413, "body_too_large", "denied");
        // Under the limit is fine.
        let r = s
            .post(Some("reader_hb"), "/v1/ask", &json!({"question": Q}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    });
}

#[test]
fn per_key_rate_limit_gives_429_with_retry_after() {
    let s = Server::start(Opts {
        limits: "rate_limit_rps = 0.2\nrate_limit_burst = 2".into(),
        ..Opts::default()
    });
    block_on(async {
        for _ in 0..2 {
            let r = s.get(Some("reader_hb"), "/v1/models").await;
            assert_eq!(r.status, 200);
        }
        let r = s.get(Some("reader_hb"), "/v1/models").await;
        expect_error(&s, &r, 429, "rate_limited", "denied");
        let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=5).contains(&after), "{after}");
        // Another key has its own bucket.
        let r = s.get(Some("reader_all"), "/v1/models").await;
        assert_eq!(r.status, 200);
    });
}

#[test]
fn timeout_gives_504_and_a_stream_error_event() {
    let s = Server::start(Opts {
        generator: Gen::SlowEcho(Duration::from_millis(30)),
        limits: "request_timeout_s = 1\nrate_limit_rps = 0".into(),
        model_concurrency: 4,
        ..Opts::default()
    });
    block_on(async {
        let r = s
            .post(Some("reader_hb"), "/v1/ask", &json!({"question": Q}))
            .await;
        expect_error(&s, &r, 504, "timeout", "error");
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/chat/completions",
                &json!({"stream": true, "messages": [{"role": "user", "content": Q}]}),
            )
            .await;
        assert_eq!(r.status, 200);
        let data = r.sse_data();
        let last: serde_json::Value = serde_json::from_str(data.last().unwrap()).unwrap();
        assert_eq!(last["error"]["code"], "timeout", "{last}");
        assert!(!data.iter().any(|d| d == "[DONE]"));
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert_eq!(rec.decision.label(), "error");
    });
}

#[test]
fn full_model_queue_gives_429_with_retry_after() {
    let s = Server::start(Opts {
        generator: Gen::SlowEcho(Duration::from_millis(30)),
        limits: "request_timeout_s = 3\nrate_limit_rps = 0".into(),
        model_concurrency: 1,
        model_queue: 0,
        ..Opts::default()
    });
    block_on(async {
        let body = json!({"question": Q});
        let first = s.post(Some("reader_hb"), "/v1/ask", &body);
        let second = async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            s.post(Some("reader_all"), "/v1/ask", &json!({"question": Q}))
                .await
        };
        let (a, b) = tokio::join!(first, second);
        assert_eq!(a.status, 504, "the first holds the model past the timeout");
        expect_error(&s, &b, 429, "model_busy", "error");
        assert!(b.headers.contains_key("retry-after"));
    });
}

#[test]
fn a_dropped_stream_still_leaves_its_record() {
    let s = Server::start(Opts {
        generator: Gen::SlowEcho(Duration::from_millis(20)),
        limits: "rate_limit_rps = 0".into(),
        ..Opts::default()
    });
    block_on(async {
        let mut r = client()
            .post(format!("{}/v1/chat/completions", s.url))
            .bearer_auth(s.key("reader_hb"))
            .json(&json!({"stream": true, "max_tokens": 500, "messages": [{"role": "user", "content": Q}]}))
            .send()
            .await
            .unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let first = r.chunk().await.unwrap();
        assert!(first.is_some());
        drop(r);
        let start = std::time::Instant::now();
        let rec = loop {
            if let Some(rec) = s.record(&id) {
                break rec;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no record for the dropped stream"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let req = rec.request.unwrap();
        assert!(
            matches!(req.decision, sluice_audit::Decision::Error { ref code } if code == "stream_aborted"),
            "{:?}",
            req.decision
        );
    });
}
