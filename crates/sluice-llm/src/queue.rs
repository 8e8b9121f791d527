//! Admission control for a shared model: at most `max_concurrency` generations run at
//! once, at most `max_queue` requests wait for a slot, and any more are turned away at
//! once with [`LlmError::Busy`] — a bounded queue rather than unbounded latency.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ChatRequest, GenEvent, GenStream, Generator, LlmError};

/// A [`Generator`] shared by concurrent requests with bounded concurrency and queue.
///
/// A slot is held from the moment [`Generator::generate`] admits a request until its
/// stream ends (after `Done` or an error) or is dropped.
pub struct QueuedGenerator {
    inner: Arc<dyn Generator>,
    slots: Arc<Semaphore>,
    max_concurrency: usize,
    max_queue: usize,
    waiting: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
}

impl std::fmt::Debug for QueuedGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedGenerator")
            .field("model_id", &self.inner.model_id())
            .field("max_concurrency", &self.max_concurrency)
            .field("max_queue", &self.max_queue)
            .field("in_flight", &self.in_flight())
            .field("queue_depth", &self.queue_depth())
            .finish()
    }
}

impl QueuedGenerator {
    /// Wraps `inner`. `max_concurrency` below 1 counts as 1; `max_queue` may be 0 (no
    /// waiting: busy as soon as all slots run).
    pub fn new(inner: Arc<dyn Generator>, max_concurrency: usize, max_queue: usize) -> Self {
        let max_concurrency = max_concurrency.max(1);
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max_concurrency)),
            max_concurrency,
            max_queue,
            waiting: Arc::new(AtomicUsize::new(0)),
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Requests waiting for a slot now.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Generations holding a slot now.
    pub fn in_flight(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// The configured limits: `(max_concurrency, max_queue)`.
    pub fn limits(&self) -> (usize, usize) {
        (self.max_concurrency, self.max_queue)
    }

    /// The wrapped generator.
    pub fn inner(&self) -> &Arc<dyn Generator> {
        &self.inner
    }

    /// Stops admitting: waiting and later requests fail with [`LlmError::Cancelled`];
    /// running streams finish normally. For graceful shutdown.
    pub fn close(&self) {
        self.slots.close();
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, LlmError> {
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(p) => return Ok(p),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(LlmError::Cancelled),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        let max = self.max_queue;
        if let Err(depth) = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
        {
            return Err(LlmError::Busy { queue_depth: depth });
        }
        // Leaves the queue however the wait ends, including when the caller gives up.
        let _in_queue = Decrement(Arc::clone(&self.waiting));
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| LlmError::Cancelled)
    }
}

struct Decrement(Arc<AtomicUsize>);

impl Drop for Decrement {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A held slot: the semaphore permit plus the in-flight count.
struct Slot {
    _permit: OwnedSemaphorePermit,
    _running: Decrement,
}

struct SlotStream {
    inner: GenStream,
    slot: Option<Slot>,
}

impl futures::Stream for SlotStream {
    type Item = Result<GenEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.as_mut().get_mut();
        if this.slot.is_none() {
            return Poll::Ready(None);
        }
        let item = this.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None | Some(Err(_)) | Some(Ok(GenEvent::Done { .. }))) = &item {
            this.slot = None; // free the slot as soon as the generation is over
        }
        item
    }
}

#[async_trait]
impl Generator for QueuedGenerator {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn context_length(&self) -> usize {
        self.inner.context_length()
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError> {
        req.validate()?;
        let permit = self.acquire().await?;
        self.running.fetch_add(1, Ordering::AcqRel);
        let slot = Slot {
            _permit: permit,
            _running: Decrement(Arc::clone(&self.running)),
        };
        let inner = self.inner.generate(req).await?; // on error, `slot` drops here
        Ok(Box::pin(SlotStream {
            inner,
            slot: Some(slot),
        }))
    }
}
