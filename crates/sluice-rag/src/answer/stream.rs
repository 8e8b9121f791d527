//! Step 5 of the answer path: the model's deltas (or the extractive answer) through the
//! response boundary as a stream of [`AnswerEvent`]s, and the task plumbing that stops the
//! model when the consumer goes away.

use std::time::Instant;

use futures::{Stream, StreamExt};
use sluice_policy::{Boundary, Redactor};
use sluice_ports::{ChatRequest, FinishReason, GenEvent, LlmError, StopFilter, Usage};

use super::{AnswerEvent, AnswerSummary, Answerer, NO_CONTEXT_ANSWER, OnBusy, Prepared, Timings};
use crate::error::AnswerError;
use crate::passages::Passage;
use crate::screen;

impl Answerer {
    /// Step 5: the model's answer through the response boundary. Ends with
    /// [`AnswerEvent::Done`] or an error (a mid-stream `block` is an error, and nothing of
    /// the blocked text is emitted).
    pub fn stream(
        &self,
        redactor: &Redactor,
        prepared: &Prepared,
    ) -> impl Stream<Item = Result<AnswerEvent, AnswerError>> + Send + 'static {
        let generator = self.generator.clone();
        let mut guard = redactor.stream(Boundary::Response);
        let messages = prepared.messages.clone();
        let params = prepared.params.clone();
        let started = prepared.started;
        let retrieval_ms = prepared.retrieval_ms;
        let n_sources = prepared.citations.len();
        let direct = prepared.direct;
        let extractive = prepared.extractive;
        let passages = prepared.passages.clone();
        // Only a RAG answer with passages to quote can fall back to them.
        let busy_fallback =
            self.settings.on_busy == OnBusy::Extractive && !direct && !passages.is_empty();
        let mut stops = StopFilter::new(prepared.stops.clone());
        // Usage when a stop string cuts the answer before the model reports its own.
        let prompt_estimate: usize = messages
            .iter()
            .map(|m| generator.count_tokens(&m.content))
            .sum();
        async_stream(move |tx| async move {
            let t0 = Instant::now();
            let mut first: Option<f64> = None;
            let emit = |text: String, first: &mut Option<f64>| {
                if text.is_empty() {
                    return true;
                }
                if first.is_none() {
                    *first = Some(t0.elapsed().as_secs_f64() * 1e3);
                }
                tx.send(Ok(AnswerEvent::Delta(text))).is_ok()
            };
            let summary = |finish: &'static str,
                           usage: Usage,
                           guard: &sluice_policy::StreamRedactor,
                           first: Option<f64>,
                           called: bool| {
                let response_findings = screen::counts(guard.findings(), Boundary::Response);
                let response_rules = screen::rules(guard.findings());
                AnswerSummary {
                    finish_reason: finish,
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                    response_findings,
                    response_rules,
                    details: guard.findings().to_vec(),
                    model_called: called,
                    timings: Timings {
                        retrieval_ms,
                        first_token_ms: first,
                        total_ms: started.elapsed().as_secs_f64() * 1e3,
                    },
                }
            };
            let blocked = |b: sluice_policy::Blocked| AnswerError::Blocked {
                boundary: Boundary::Response,
                rule: b.rule,
                entity: b.entity,
                findings: Vec::new(),
            };

            if !extractive && (messages.is_empty() || (n_sources == 0 && !direct)) {
                if !emit(NO_CONTEXT_ANSWER.to_owned(), &mut first) {
                    return;
                }
                let s = summary("stop", Usage::default(), &guard, first, false);
                let _ = tx.send(Ok(AnswerEvent::Done(s)));
                return;
            }
            let model = if extractive {
                None
            } else {
                match generator.generate(ChatRequest { messages, params }).await {
                    Ok(s) => Some(s),
                    // A full model queue: the cited passages are an answer now, where a
                    // 429 would only be an answer later (`[answer] on_busy = "extractive"`).
                    Err(LlmError::Busy { .. }) if busy_fallback => None,
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                }
            };
            let Some(mut gen_stream) = model else {
                let text = if passages.is_empty() {
                    NO_CONTEXT_ANSWER.to_owned()
                } else {
                    extractive_answer(&passages)
                };
                // Passages passed the context boundary; the response boundary still runs.
                let out = match guard.push(&text).and_then(|mut o| {
                    guard.finish().map(|rest| {
                        o.push_str(&rest);
                        o
                    })
                }) {
                    Ok(o) => o,
                    Err(b) => {
                        let _ = tx.send(Err(blocked(b)));
                        return;
                    }
                };
                if !emit(out, &mut first) {
                    return;
                }
                let s = summary("stop", Usage::default(), &guard, first, false);
                let _ = tx.send(Ok(AnswerEvent::Done(s)));
                return;
            };
            let mut finish = FinishReason::Stop;
            let mut usage = Usage::default();
            let mut deltas = 0usize;
            while let Some(ev) = gen_stream.next().await {
                match ev {
                    Ok(GenEvent::Delta(d)) => match guard.push(&d) {
                        Ok(out) => {
                            deltas += 1;
                            // Stop strings run on the redacted text (see `Prepared::stops`).
                            let (out, stopped) = stops.push(&out);
                            if !emit(out, &mut first) {
                                return; // the client went away: dropping stops the model
                            }
                            if stopped {
                                drop(gen_stream); // cancels the generation
                                let usage = Usage {
                                    prompt_tokens: prompt_estimate,
                                    completion_tokens: deltas,
                                };
                                let s = summary("stop", usage, &guard, first, true);
                                let _ = tx.send(Ok(AnswerEvent::Done(s)));
                                return;
                            }
                        }
                        Err(b) => {
                            let _ = tx.send(Err(blocked(b)));
                            return;
                        }
                    },
                    Ok(GenEvent::Done {
                        finish_reason,
                        usage: u,
                    }) => {
                        finish = finish_reason;
                        usage = u;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                }
            }
            match guard.finish() {
                Ok(out) => {
                    let (mut out, stopped) = stops.push(&out);
                    if !stopped {
                        out.push_str(&stops.finish());
                    }
                    if !emit(out, &mut first) {
                        return;
                    }
                }
                Err(b) => {
                    let _ = tx.send(Err(blocked(b)));
                    return;
                }
            }
            let s = summary(finish.as_str(), usage, &guard, first, true);
            let _ = tx.send(Ok(AnswerEvent::Done(s)));
        })
    }
}

/// The answer of the extractive mode: each passage quoted with its source number.
fn extractive_answer(passages: &[Passage]) -> String {
    let mut out = String::from("From the sources:\n");
    for p in passages {
        out.push_str(&format!("- \"{}\" [{}]\n", p.text, p.n));
    }
    out
}

/// A stream fed by an async task through an unbounded channel. Dropping the stream drops
/// the receiver; the task sees its sends fail and stops (which drops the model stream).
fn async_stream<T, F, Fut>(f: F) -> impl Stream<Item = T> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::UnboundedSender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::spawn(f(tx));
    let rx = tokio_stream_from(rx);
    AbortOnDrop {
        inner: rx,
        handle: Some(handle),
    }
}

fn tokio_stream_from<T>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl Stream<Item = T> + Send + Unpin
where
    T: Send,
{
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Aborts the producing task when the consumer drops the stream (client disconnect).
struct AbortOnDrop<S> {
    inner: S,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl<S: Stream + Unpin> Stream for AbortOnDrop<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl<S> Drop for AbortOnDrop<S> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}
