//! `OpenAiGenerator` against a real OpenAI-style server: a minimal axum handler that
//! streams Sluice's own mistral.rs backend (SmolLM2) in OpenAI's SSE chunk format.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{ask, collect, model, rt};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde::Deserialize;
use sluice_llm::{
    ChatMessage, ChatRequest, FinishReason, GenEvent, GenerationParams, Generator, LlmError,
    OpenAiGenerator, UpstreamConfig,
};

#[derive(Deserialize)]
struct OpenAiRequest {
    messages: Vec<ChatMessage>,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    stop: Option<Vec<String>>,
}

fn chunk(delta: serde_json::Value, finish: Option<&str>) -> Event {
    Event::default().data(
        serde_json::json!({
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "smollm2",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
        .to_string(),
    )
}

async fn chat(State(g): State<Arc<dyn Generator>>, Json(r): Json<OpenAiRequest>) -> Response {
    let req = ChatRequest {
        messages: r.messages,
        params: GenerationParams {
            max_tokens: r.max_tokens.unwrap_or(256),
            temperature: r.temperature.unwrap_or(0.0),
            stop: r.stop.unwrap_or_default(),
        },
    };
    let stream = match g.generate(req).await {
        Ok(s) => s,
        Err(e) => {
            let body = serde_json::json!({ "error": { "message": e.to_string(), "type": "server_error" } });
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
    };
    let role = futures::stream::iter([chunk(
        serde_json::json!({ "role": "assistant", "content": "" }),
        None,
    )]);
    let events = stream.flat_map(|ev| {
        let evs = match ev {
            Ok(GenEvent::Delta(t)) => vec![chunk(serde_json::json!({ "content": t }), None)],
            Ok(GenEvent::Done {
                finish_reason,
                usage,
            }) => vec![
                chunk(serde_json::json!({}), Some(finish_reason.as_str())),
                Event::default().data(
                    serde_json::json!({ "choices": [], "usage": {
                        "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": usage.completion_tokens,
                        "total_tokens": usage.prompt_tokens + usage.completion_tokens } })
                    .to_string(),
                ),
                Event::default().data("[DONE]"),
            ],
            Err(_) => vec![Event::default().data(r#"{"error":{"type":"server_error"}}"#)],
        };
        futures::stream::iter(evs)
    });
    Sse::new(role.chain(events).map(Ok::<_, Infallible>)).into_response()
}

async fn always_500() -> Response {
    let body = serde_json::json!({ "error": {
        "message": "cannot process prompt 'my password is hunter2'", "type": "server_error" } });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Serves the real model on 127.0.0.1 (once per binary).
async fn server() -> SocketAddr {
    static ADDR: tokio::sync::OnceCell<SocketAddr> = tokio::sync::OnceCell::const_new();
    *ADDR
        .get_or_init(|| async {
            let g: Arc<dyn Generator> = model().await;
            let app = axum::Router::new()
                .route("/v1/chat/completions", post(chat))
                .route("/broken/v1/chat/completions", post(always_500))
                .with_state(g);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        })
        .await
}

fn client(base: String) -> OpenAiGenerator {
    let mut cfg = UpstreamConfig::new(base, "smollm2");
    cfg.timeout = Duration::from_secs(60);
    OpenAiGenerator::new(cfg).unwrap()
}

#[test]
fn upstream_text_equals_the_backend_text() {
    rt().block_on(async {
        let addr = server().await;
        let up = client(format!("http://{addr}/v1/"));
        for (q, max, stop) in [
            (
                "What is the capital of France? Answer in one word.",
                16,
                vec![],
            ),
            ("Name three fruits.", 24, vec!["\n"]),
            ("Write a poem about rivers.", 5, vec![]),
        ] {
            let direct = collect(model().await.generate(ask(q, max, &stop)).await.unwrap())
                .await
                .unwrap();
            let via = collect(up.generate(ask(q, max, &stop)).await.unwrap())
                .await
                .unwrap();
            eprintln!("{q:?}: {:?} / {:?}", direct.text, via.text);
            assert!(!direct.text.is_empty());
            assert_eq!(via.text, direct.text);
            assert_eq!(via.finish, direct.finish);
            assert_eq!(
                via.usage, direct.usage,
                "usage comes from the upstream's usage chunk"
            );
        }
        let o = collect(
            up.generate(ask("Tell me a long story.", 3, &[]))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(o.finish, FinishReason::Length);
    });
}

#[test]
fn upstream_500_is_an_upstream_error_without_the_body() {
    rt().block_on(async {
        let addr = server().await;
        let up = client(format!("http://{addr}/broken/v1"));
        let err = up
            .generate(ask("my password is hunter2", 8, &[]))
            .await
            .err()
            .unwrap();
        match &err {
            LlmError::Upstream {
                status: Some(500),
                message,
            } => {
                assert!(!message.contains("hunter2"), "{message}");
                assert!(message.contains("server_error"), "{message}");
            }
            other => panic!("expected Upstream 500, got {other:?}"),
        }
        assert!(!err.to_string().contains("hunter2"));

        // An invalid request is refused before anything is sent.
        let bad = ChatRequest {
            messages: vec![],
            params: Default::default(),
        };
        assert!(matches!(
            up.generate(bad).await,
            Err(LlmError::InvalidRequest(_))
        ));
    });
}

#[test]
fn connection_refused_is_clear() {
    rt().block_on(async {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        }; // closed again: nothing listens there now
        let up = client(format!("http://127.0.0.1:{port}/v1"));
        let err = up.generate(ask("hello", 4, &[])).await.err().unwrap();
        match &err {
            LlmError::Upstream {
                status: None,
                message,
            } => {
                assert!(message.contains("connection refused"), "{message}");
                assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
            }
            other => panic!("expected Upstream, got {other:?}"),
        }
    });
}

#[test]
fn dropping_the_client_stream_is_fine() {
    rt().block_on(async {
        let addr = server().await;
        let up = client(format!("http://{addr}/v1"));
        let mut s = up
            .generate(ask("Count from one to forty.", 120, &[]))
            .await
            .unwrap();
        assert!(matches!(s.next().await, Some(Ok(GenEvent::Delta(_)))));
        drop(s);
        let o = collect(up.generate(ask("Say hi.", 6, &[])).await.unwrap())
            .await
            .unwrap();
        assert!(!o.text.is_empty());
    });
}

/// Regression (adversarial review): the client followed upstream redirects, so the prompt
/// was POSTed again to wherever the upstream pointed. A redirect is now an upstream error
/// and nothing reaches the redirect's target.
#[test]
fn upstream_redirects_are_not_followed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SINK_HITS: AtomicUsize = AtomicUsize::new(0);
    rt().block_on(async {
        let sink = axum::Router::new().route(
            "/v1/chat/completions",
            post(|| async {
                SINK_HITS.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }),
        );
        let sink_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink_addr = sink_l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(sink_l, sink).await.unwrap() });
        let target = format!("http://{sink_addr}/v1/chat/completions");
        let redirector = axum::Router::new().route(
            "/v1/chat/completions",
            post(move || {
                let target = target.clone();
                async move {
                    (
                        StatusCode::TEMPORARY_REDIRECT,
                        [(axum::http::header::LOCATION, target)],
                    )
                        .into_response()
                }
            }),
        );
        let red_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let red_addr = red_l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(red_l, redirector).await.unwrap() });

        let up = client(format!("http://{red_addr}/v1"));
        let err = up.generate(ask("my password is hunter2", 4, &[])).await;
        assert!(
            matches!(
                err,
                Err(LlmError::Upstream {
                    status: Some(307),
                    ..
                })
            ),
            "{:?}",
            err.err()
        );
        assert_eq!(
            SINK_HITS.load(Ordering::SeqCst),
            0,
            "the prompt was re-sent"
        );
    });
}
