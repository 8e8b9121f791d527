//! Turning an answer stream into Server-Sent Events, shared by `/v1/chat/completions` and
//! `/v1/ask`: deltas out as they pass the response boundary; the audit record written before
//! the last event; a mid-stream error (a `block`, a model failure, the timeout) becomes one
//! `data: {"error":{...}}` event and the stream ends (fail closed).

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use sluice_rag::{AnswerError, AnswerEvent, AnswerSummary};
use tokio_stream::wrappers::ReceiverStream;

use crate::error::ApiError;
use crate::request::{RequestCtx, Streaming};

/// How one protocol spells its events.
pub(crate) trait Encoder: Send + 'static {
    /// Events before the first delta.
    fn start(&mut self) -> Vec<Event>;
    /// One delta.
    fn delta(&mut self, text: &str) -> Event;
    /// The closing events (after the audit record is written).
    fn done(&mut self, summary: &AnswerSummary, text: &str) -> Vec<Event>;
}

/// An error event: `data: {"error":{"code","message","request_id","rule"?}}`.
/// Steps 1–4 of an answer with what they found recorded for the request's audit record, a
/// refusal's findings included (entity types and rules; values never leave the policy crate).
pub(crate) async fn prepare(
    answerer: &sluice_rag::Answerer,
    ctx: &RequestCtx,
    req: sluice_rag::AskRequest,
) -> Result<sluice_rag::Prepared, ApiError> {
    let prepared = answerer
        .prepare(ctx.redactor(), req)
        .await
        .inspect_err(|e| ctx.add_refusal(e))?;
    ctx.add_findings(&prepared.details);
    ctx.add_sources(
        prepared
            .citations
            .iter()
            .map(|c| (c.chunk_id.as_str(), c.doc_id.as_str())),
    );
    Ok(prepared)
}

/// Step 5 collected (the non-streaming responses), with the response findings and token
/// usage recorded for the audit record.
pub(crate) async fn complete(
    answerer: &sluice_rag::Answerer,
    ctx: &RequestCtx,
    prepared: &sluice_rag::Prepared,
) -> Result<(String, AnswerSummary), ApiError> {
    let (text, summary) = answerer.collect(ctx.redactor(), prepared).await?;
    ctx.add_findings(&summary.details);
    if summary.model_called {
        ctx.set_usage(
            answerer.generator().model_id(),
            summary.prompt_tokens as u64,
            summary.completion_tokens as u64,
        );
    }
    Ok((text, summary))
}

pub(crate) fn error_event(e: &ApiError, request_id: &str) -> Event {
    Event::default().data(e.info().body(request_id).to_string())
}

/// Runs `answer` to the end in a task, sending SSE events; returns the SSE response.
pub(crate) fn sse_response<S, E>(ctx: Arc<RequestCtx>, answer: S, mut enc: E) -> Response
where
    S: Stream<Item = Result<AnswerEvent, AnswerError>> + Send + 'static,
    E: Encoder,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(32);
    let deadline =
        tokio::time::Instant::from_std(ctx.started() + ctx.state().config().limits.request_timeout);
    tokio::spawn(async move {
        let mut answer = std::pin::pin!(answer);
        for ev in enc.start() {
            if tx.send(ev).await.is_err() {
                return;
            }
        }
        let mut text = String::new();
        let fail = |e: ApiError| {
            let ctx = ctx.clone();
            let tx = tx.clone();
            async move {
                let info = e.info();
                if let ApiError::Blocked { boundary, rule, .. } = &e {
                    crate::metrics::block(boundary, rule);
                }
                ctx.set_stream_outcome(info.decision.clone());
                let ev = match ctx.commit(200, Some(info.decision)).await {
                    Ok(()) => error_event(&e, ctx.id.as_str()),
                    Err(_) => error_event(
                        &ApiError::Unavailable("the audit log is unavailable".into()),
                        ctx.id.as_str(),
                    ),
                };
                let _ = tx.send(ev).await;
            }
        };
        loop {
            let next = match tokio::time::timeout_at(deadline, answer.next()).await {
                Ok(n) => n,
                Err(_) => {
                    let secs = ctx.state().config().limits.request_timeout.as_secs();
                    fail(ApiError::Timeout(secs)).await;
                    return;
                }
            };
            match next {
                Some(Ok(AnswerEvent::Delta(d))) => {
                    text.push_str(&d);
                    if tx.send(enc.delta(&d)).await.is_err() {
                        return; // client gone: the guard records the aborted stream
                    }
                }
                Some(Ok(AnswerEvent::Done(summary))) => {
                    ctx.add_findings(&summary.details);
                    if summary.model_called {
                        ctx.set_usage(
                            ctx.state().inner.generator.model_id(),
                            summary.prompt_tokens as u64,
                            summary.completion_tokens as u64,
                        );
                    }
                    if ctx.commit(200, None).await.is_err() {
                        let e = ApiError::Unavailable("the audit log is unavailable".into());
                        let _ = tx.send(error_event(&e, ctx.id.as_str())).await;
                        return;
                    }
                    for ev in enc.done(&summary, &text) {
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                    return;
                }
                Some(Err(e)) => {
                    fail(ApiError::from(e)).await;
                    return;
                }
                None => {
                    fail(ApiError::Internal("the answer stream ended early".into())).await;
                    return;
                }
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(Ok::<_, Infallible>);
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    res.extensions_mut().insert(Streaming);
    res
}
