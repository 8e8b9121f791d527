//! Streamed answers arrive live through the gateway: cited passages before any token, then
//! the answer in many content events, the first long before generation ends (the response
//! boundary releases prose word by word; see `sluice_policy::StreamRedactor`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Gen, Opts, Server, block_on, client};

/// One SSE `data:` payload and when it arrived.
struct Event {
    at: Duration,
    data: Value,
}

/// Reads an SSE response chunk by chunk, timing each event.
async fn timed_events(mut r: reqwest::Response, t0: Instant) -> Vec<Event> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.unwrap() {
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(d) = line.strip_prefix("data: ")
                    && d != "[DONE]"
                {
                    out.push(Event {
                        at: t0.elapsed(),
                        data: serde_json::from_str(d).unwrap(),
                    });
                }
            }
        }
    }
    out
}

#[test]
fn a_streamed_answer_arrives_in_many_events_after_its_passages() {
    // 3-byte pieces, 15 ms apart: 160 pieces take 2.4 s to "generate".
    let s = Server::start(Opts {
        generator: Gen::SlowEcho(Duration::from_millis(15)),
        limits: "rate_limit_rps = 0".into(),
        ..Opts::default()
    });
    block_on(async {
        let t0 = Instant::now();
        let r = client()
            .post(format!("{}/v1/ask", s.url))
            .bearer_auth(s.key("reader_hb"))
            .json(&json!({
                "question": "How are travel expenses reimbursed?",
                "stream": true,
                "max_tokens": 160,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let events = timed_events(r, t0).await;
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e.data["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(kinds.first(), Some(&"passages"), "{kinds:?}");
        let first_delta = kinds.iter().position(|k| *k == "delta").expect("deltas");
        assert!(
            kinds[..first_delta].iter().all(|k| *k != "delta"),
            "passages and sources come before any token: {kinds:?}"
        );
        let deltas: Vec<&Event> = events
            .iter()
            .filter(|e| e.data["type"] == "delta")
            .collect();
        let done = events.last().unwrap();
        assert_eq!(done.data["type"], "done");
        let tokens = done.data["usage"]["completion_tokens"].as_u64().unwrap() as usize;
        assert_eq!(tokens, 160);
        // Prose is released word by word: 3-byte pieces give about one event per two.
        assert!(
            deltas.len() * 3 >= tokens,
            "{} content events for {tokens} tokens",
            deltas.len()
        );
        // The first content event comes while the model is still generating, not at the end.
        let generation = done.at - events[first_delta - 1].at;
        let wait = deltas[0].at - events[first_delta - 1].at;
        assert!(
            wait * 5 < generation,
            "first content after {wait:?} of a {generation:?} generation"
        );
    });
}
