//! The real local model (SmolLM2-135M via mistral.rs): one answer and one chat stream.

use serde_json::{Value, json};

use crate::support::*;

fn real_server() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        Server::start(Opts {
            generator: Gen::Real,
            ..Opts::default()
        })
    })
}

#[test]
fn real_model_answers_with_citations() {
    let s = real_server();
    block_on(async {
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": "How are travel expenses reimbursed?", "max_tokens": 48}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["model_called"], true, "{v}");
        assert!(!v["answer"].as_str().unwrap().trim().is_empty());
        assert!(!v["citations"].as_array().unwrap().is_empty());
        assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 50);
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert!(rec.tokens_out.unwrap() > 0);
        assert!(rec.model.is_some());
    });
}

#[test]
fn real_model_streams_chat_chunks() {
    let s = real_server();
    block_on(async {
        let r = s
            .post(Some("reader_all"), "/v1/chat/completions", &json!({
                "model": "sluice",
                "stream": true,
                "max_tokens": 32,
                "messages": [{"role": "user", "content": "What is the database failover procedure?"}],
            }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let data = r.sse_data();
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
        let chunks: Vec<Value> = data[..data.len() - 1]
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert!(!text.trim().is_empty());
        assert!(
            chunks.len() >= 3,
            "role, content and final chunks: {data:?}"
        );
        eprintln!("real model: {} chunks, {} chars", chunks.len(), text.len());
        let last = chunks.last().unwrap();
        assert!(last["choices"][0]["finish_reason"].is_string());
        assert!(last["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    });
}
