//! `QueuedGenerator`: bounded concurrency, bounded queue, fast `Busy`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use sluice_llm::{
    ChatMessage, ChatRequest, FinishReason, GenEvent, GenStream, Generator, LlmError,
    QueuedGenerator, Usage,
};
use tokio::sync::Semaphore;

/// A test-only generator whose answers wait on a gate: each answer needs one gate permit.
struct GatedGenerator {
    gate: Arc<Semaphore>,
}

#[async_trait]
impl Generator for GatedGenerator {
    fn model_id(&self) -> &str {
        "gated"
    }
    fn context_length(&self) -> usize {
        100
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.len()
    }
    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError> {
        if req.messages[0].content == "fail" {
            return Err(LlmError::Generation("asked to fail".into()));
        }
        let gate = Arc::clone(&self.gate);
        Ok(Box::pin(
            futures::stream::once(async move {
                gate.acquire().await.unwrap().forget();
                Ok(GenEvent::Delta("ok".into()))
            })
            .chain(futures::stream::iter([Ok(GenEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage {
                    prompt_tokens: 1,
                    completion_tokens: 1,
                },
            })])),
        ))
    }
}

fn req(q: &str) -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::user(q)])
}

async fn drain(s: GenStream) -> String {
    let mut text = String::new();
    let mut s = s;
    while let Some(ev) = s.next().await {
        if let GenEvent::Delta(d) = ev.unwrap() {
            text.push_str(&d);
        }
    }
    text
}

async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("condition not reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourth_request_is_busy_then_all_finish() {
    let gate = Arc::new(Semaphore::new(0));
    let q = Arc::new(QueuedGenerator::new(
        Arc::new(GatedGenerator {
            gate: Arc::clone(&gate),
        }),
        1,
        2,
    ));

    let first = q.generate(req("1")).await.unwrap();
    assert_eq!((q.in_flight(), q.queue_depth()), (1, 0));
    let waiting: Vec<_> = (2..=3)
        .map(|i| {
            let q = Arc::clone(&q);
            tokio::spawn(async move { drain(q.generate(req(&i.to_string())).await.unwrap()).await })
        })
        .collect();
    wait_for(|| q.queue_depth() == 2).await;

    let busy = q.generate(req("4")).await.err().unwrap();
    assert!(matches!(busy, LlmError::Busy { queue_depth: 2 }), "{busy}");

    gate.add_permits(3);
    assert_eq!(drain(first).await, "ok");
    for w in waiting {
        assert_eq!(w.await.unwrap(), "ok");
    }
    assert_eq!((q.in_flight(), q.queue_depth()), (0, 0));

    gate.add_permits(1);
    assert_eq!(drain(q.generate(req("5")).await.unwrap()).await, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_free_on_drop_error_and_cancelled_wait() {
    let gate = Arc::new(Semaphore::new(0));
    let q = Arc::new(QueuedGenerator::new(
        Arc::new(GatedGenerator {
            gate: Arc::clone(&gate),
        }),
        1,
        1,
    ));

    // A dropped stream frees its slot.
    let s = q.generate(req("a")).await.unwrap();
    assert_eq!(q.in_flight(), 1);
    drop(s);
    assert_eq!(q.in_flight(), 0);

    // An error from the inner generator frees its slot.
    assert!(matches!(
        q.generate(req("fail")).await,
        Err(LlmError::Generation(_))
    ));
    assert_eq!(q.in_flight(), 0);

    // A waiter that gives up leaves the queue.
    let held = q.generate(req("b")).await.unwrap();
    let q2 = Arc::clone(&q);
    let waiter = tokio::spawn(async move { q2.generate(req("c")).await.map(|_| ()) });
    wait_for(|| q.queue_depth() == 1).await;
    waiter.abort();
    wait_for(|| q.queue_depth() == 0).await;

    // close(): waiting and new requests are cancelled; the running one finishes.
    let q3 = Arc::clone(&q);
    let waiter = tokio::spawn(async move { q3.generate(req("d")).await.map(|_| ()) });
    wait_for(|| q.queue_depth() == 1).await;
    q.close();
    assert!(matches!(waiter.await.unwrap(), Err(LlmError::Cancelled)));
    assert!(matches!(
        q.generate(req("e")).await,
        Err(LlmError::Cancelled)
    ));
    gate.add_permits(1);
    assert_eq!(drain(held).await, "ok");
}

#[tokio::test]
async fn zero_queue_is_busy_immediately() {
    let gate = Arc::new(Semaphore::new(1));
    let q = QueuedGenerator::new(Arc::new(GatedGenerator { gate }), 1, 0);
    let s = q.generate(req("x")).await.unwrap();
    assert!(matches!(
        q.generate(req("y")).await,
        Err(LlmError::Busy { queue_depth: 0 })
    ));
    assert_eq!(drain(s).await, "ok");
    assert_eq!(q.limits(), (1, 0));
}
