//! The OpenAI-compatible surface: chat completions (plain and SSE chunks), embeddings
//! (float and base64), models; and fail-closed streaming when the response boundary blocks
//! mid-stream.

use base64::Engine;
use serde_json::{Value, json};

use crate::support::*;

const Q: &str = "How are travel expenses reimbursed?";

#[test]
fn chat_completion_non_streaming() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(Some("reader_hb"), "/v1/chat/completions", &json!({
                "model": "sluice",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": Q}],
                "max_tokens": 64,
                "temperature": 0,
            }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["role"], "assistant");
        assert!(
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .len()
                > 10
        );
        assert_eq!(v["choices"][0]["finish_reason"], "length", "64 echo pieces");
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
        let cites = v["sluice"]["citations"].as_array().unwrap();
        assert!(!cites.is_empty(), "{v}");
        assert!(cites.iter().all(|c| c["collection"] == "handbook"));
        assert_eq!(v["sluice"]["request_id"], r.request_id().as_str());
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        let ids: Vec<&str> = cites
            .iter()
            .map(|c| c["chunk_id"].as_str().unwrap())
            .collect();
        assert_eq!(rec.chunk_ids, ids);
        assert_eq!(rec.tokens_out, Some(64));
        assert_eq!(rec.endpoint, "/v1/chat/completions");
        assert_eq!(rec.collections_granted, vec!["handbook".to_owned()]);
        assert_eq!(
            rec.policy_version.as_deref(),
            r.headers["x-sluice-policy"].to_str().ok()
        );
    });
}

#[test]
fn chat_completion_streaming_chunks() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/chat/completions",
                &json!({
                    "model": "sluice:handbook",
                    "stream": true,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": Q}]}],
                    "max_tokens": 50,
                }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let data = r.sse_data();
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
        let chunks: Vec<Value> = data[..data.len() - 1]
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let mut text = String::new();
        for c in &chunks {
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["model"], "sluice:handbook");
            if let Some(t) = c["choices"][0]["delta"]["content"].as_str() {
                text.push_str(t);
            }
        }
        assert!(text.len() > 20);
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "length");
        assert!(!last["sluice"]["citations"].as_array().unwrap().is_empty());
        assert!(
            chunks[1..chunks.len() - 1]
                .iter()
                .all(|c| c["choices"][0]["finish_reason"].is_null())
        );
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert_eq!(rec.status, 200);
        assert_eq!(rec.tokens_out, Some(50));
        assert!(!rec.chunk_ids.is_empty());
    });
}

#[test]
fn embeddings_float_and_base64() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(Some("reader_hb"), "/v1/embeddings", &json!({"input": ["hello world", "mail jane.doe@acme-corp.com"], "model": "all-MiniLM-L6-v2"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["object"], "list");
        let d = v["data"].as_array().unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[1]["index"], 1);
        let floats: Vec<f32> = d[0]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(floats.len(), 384);
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert_eq!(
            rec.decision.label(),
            "redacted",
            "the email was redacted before embedding"
        );

        // The vector is of the redacted text.
        let redacted = s
            .post(
                Some("reader_hb"),
                "/v1/embeddings",
                &json!({"input": "mail [EMAIL_ADDRESS]"}),
            )
            .await
            .json();
        assert_eq!(redacted["data"][0]["embedding"], d[1]["embedding"]);

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/embeddings",
                &json!({"input": "hello world", "encoding_format": "base64"}),
            )
            .await;
        let b64 = r.json()["data"][0]["embedding"]
            .as_str()
            .unwrap()
            .to_owned();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(decoded, floats);
    });
}

/// Prompt lets secrets through (shadow), the response boundary blocks them: the echo
/// model repeats one mid-stream, and the stream must end with an error event naming the
/// rule, with no byte of the value sent.
#[test]
fn response_block_mid_stream_fails_closed() {
    let root = std::fs::read_to_string(repo().join("policies/sluice.toml"))
        .unwrap()
        .replace(
            "[boundaries.prompt]\ndefault = \"redact\"\ncategories = { secret = \"block\" }",
            "[boundaries.prompt]\ndefault = \"redact\"\ncategories = { secret = \"shadow\" }",
        )
        .replace(
            "[boundaries.response]\ndefault = \"redact\"\ncategories = { secret = \"redact\" }",
            "[boundaries.response]\ndefault = \"redact\"\ncategories = { secret = \"block\" }",
        );
    assert!(
        root.contains("secret = \"shadow\"") && root.contains("secret = \"block\" }\nentities"),
        "policy rewrite"
    );
    let s = Server::start(Opts {
        policy_root: Some(root),
        ..Opts::default()
    });
    let key = "AKIAQYLPMN5HFIQR7XOB";
    block_on(async {
        for stream in [true, false] {
            let r = s
                .post(
                    Some("reader_hb"),
                    "/v1/chat/completions",
                    &json!({
                        "stream": stream,
                        "max_tokens": 2000,
                        "messages": [{"role": "user", "content": format!("{Q} My key is {key}.")}],
                    }),
                )
                .await;
            assert!(
                !contains(&r.body, key.as_bytes()),
                "the value left the gateway"
            );
            assert!(
                !contains(&r.body, &key.as_bytes()[..12]),
                "part of the value left"
            );
            let rec = s.record(&r.request_id()).unwrap().request.unwrap();
            assert_eq!(rec.decision.label(), "blocked", "{:?}", rec.decision);
            if stream {
                assert_eq!(r.status, 200);
                let data = r.sse_data();
                assert!(!data.iter().any(|d| d == "[DONE]"));
                let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
                assert_eq!(last["error"]["code"], "policy_block", "{last}");
                assert!(last["error"]["rule"].as_str().unwrap().contains("aws"));
                assert_eq!(last["error"]["request_id"], r.request_id().as_str());
            } else {
                assert_eq!(r.status, 403);
                assert_eq!(r.error_code(), "policy_block");
            }
        }
    });
}

#[test]
fn ask_and_search_and_redact() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": Q, "k": 2, "max_tokens": 30}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert!(v["answer"].is_string());
        assert!(v["citations"].as_array().unwrap().len() <= 2);
        for b in ["prompt", "context", "response"] {
            assert!(v["findings"][b].is_object(), "{v}");
        }
        assert!(v["timings_ms"]["total_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(v["usage"]["completion_tokens"], 30);

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": "quantum chromodynamics of neutron stars"}),
            )
            .await;
        assert_eq!(
            r.json()["model_called"],
            false,
            "off-topic: the fixed answer"
        );

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": Q, "stream": true, "max_tokens": 10}),
            )
            .await;
        let data = r.sse_data();
        // Cited passages come first, before the sources and any token.
        let first: Value = serde_json::from_str(&data[0]).unwrap();
        assert_eq!(first["type"], "passages");
        let passages = first["passages"].as_array().unwrap();
        assert!(!passages.is_empty(), "{first}");
        assert!(passages[0]["n"].as_u64().unwrap() >= 1);
        let second: Value = serde_json::from_str(&data[1]).unwrap();
        assert_eq!(second["type"], "sources");
        let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
        assert_eq!(last["type"], "done");
        assert!(last["answer"].as_str().unwrap().len() > 5);

        // Extractive mode: the passages are the answer, and no model is called.
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": Q, "answer_mode": "extractive"}),
            )
            .await;
        let v = r.json();
        assert_eq!(v["model_called"], false, "{v}");
        let answer = v["answer"].as_str().unwrap();
        assert!(answer.contains("[1]") || answer.contains("[2]"), "{answer}");

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/search",
                &json!({"query": Q, "k": 3, "mode": "vector"}),
            )
            .await;
        let v = r.json();
        let hits = v["hits"].as_array().unwrap();
        assert!(!hits.is_empty() && hits.len() <= 3);
        assert!(hits[0]["text"].as_str().unwrap().len() > 10);

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/redact",
                &json!({"text": "mail jane.doe@acme-corp.com now", "boundary": "context"}),
            )
            .await;
        let v = r.json();
        assert_eq!(v["text"], "mail [EMAIL_ADDRESS] now");
        assert_eq!(v["findings"][0]["entity"], "EMAIL_ADDRESS");
        assert_eq!(v["findings"][0]["start"], 5);
        assert!(v["findings"][0].get("value").is_none());
        assert!(!r.text().contains("jane.doe"));
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert_eq!(rec.findings.len(), 1);
        assert_eq!(rec.findings[0].value_hmacs.len(), 1);
        assert_eq!(rec.decision.label(), "redacted");
    });
}

/// The official `openai` Python client against a running gateway (opt-in: it needs `pip`
/// and the network once). `SLUICE_OPENAI_PY=1 cargo test -p sluice-server openai_python`.
#[test]
fn openai_python_client() {
    if std::env::var_os("SLUICE_OPENAI_PY").is_none() {
        eprintln!("skipped: set SLUICE_OPENAI_PY=1 to run the Python client test");
        return;
    }
    let s = echo_server();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_client.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .env("SLUICE_URL", &s.url)
        .env("SLUICE_KEY", s.key("reader_hb"))
        .output()
        .unwrap();
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

#[test]
fn chat_without_rag_is_a_data_boundary_proxy() {
    let s = echo_server();
    block_on(async {
        let email = "jane.doe@example.com";
        let r = s
            .post(Some("reader_hb"), "/v1/chat/completions", &json!({
                "model": "sluice",
                "messages": [{"role": "user", "content": format!("Draft a reply to {email} about the offsite")}],
                "max_tokens": 400,
                "sluice": {"rag": false},
            }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let text = v["choices"][0]["message"]["content"].as_str().unwrap();
        // The echo model got the redacted question and nothing retrieved.
        assert!(text.contains("about the offsite"), "{text}");
        assert!(!r.text().contains(email), "{text}");
        assert!(v["sluice"]["citations"].as_array().unwrap().is_empty());
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
        let rec = s.record(&r.request_id()).unwrap();
        let req = rec.request.as_ref().unwrap();
        assert!(req.chunk_ids.is_empty());
        assert!(
            req.findings
                .iter()
                .any(|f| f.boundary == "prompt" && f.entity.contains("EMAIL")),
            "{:?}",
            req.findings
        );
    });
}
