//! Stop strings applied to a stream of deltas. Backends honour stop strings themselves
//! (mistral.rs and OpenAI servers end the generation), but in streaming mode they emit
//! the text that contains the stop string; this adapter holds back any tail that could
//! be the start of a stop string, so the caller never sees a stop string or text after it.

use std::collections::VecDeque;

use futures::StreamExt;

use crate::{FinishReason, GenEvent, GenStream, LlmError, Usage};

/// After a stop string, how many more events to read while waiting for the backend's
/// own `Done` (and its usage) before dropping the stream, which cancels the generation.
const DRAIN_EVENTS: usize = 16;

/// Finds stop strings in text that arrives in pieces. Used by the backends on raw output
/// and by the answer path on *redacted* output (where the caller's stop strings belong: a
/// stop applied before redaction could cut a value in two).
#[derive(Debug)]
pub struct StopFilter {
    stops: Vec<String>,
    pending: String,
}

impl StopFilter {
    /// A filter for `stops` (empty strings are ignored).
    pub fn new(stops: Vec<String>) -> Self {
        Self {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            pending: String::new(),
        }
    }

    /// Adds a piece; returns the text now safe to emit and whether a stop string was found
    /// (after which nothing more must be emitted).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        self.pending.push_str(piece);
        if let Some(pos) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let out = self.pending[..pos].to_string();
            self.pending.clear();
            return (out, true);
        }
        // Hold back the longest tail that is a proper prefix of some stop string.
        let len = self.pending.len();
        let hold = (1..len.min(self.max_stop_len()) + 1)
            .rev()
            .filter(|k| *k <= len && self.pending.is_char_boundary(len - k))
            .find(|k| {
                self.stops
                    .iter()
                    .any(|s| s.starts_with(&self.pending[len - k..]))
            })
            .unwrap_or(0);
        let tail = self.pending.split_off(len - hold);
        (std::mem::replace(&mut self.pending, tail), false)
    }

    /// The held-back text, at the end of the stream.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    fn max_stop_len(&self) -> usize {
        self.stops.iter().map(String::len).max().unwrap_or(0)
    }
}

struct State {
    inner: Option<GenStream>,
    filter: StopFilter,
    out: VecDeque<Result<GenEvent, LlmError>>,
    deltas: usize,
    prompt_tokens: usize,
}

/// Applies `stops` to `inner`. `prompt_tokens` is reported if the generation has to be
/// cut off before the backend sent its usage.
pub(crate) fn apply_stops(inner: GenStream, stops: Vec<String>, prompt_tokens: usize) -> GenStream {
    let filter = StopFilter::new(stops);
    if filter.stops.is_empty() {
        return inner;
    }
    let state = State {
        inner: Some(inner),
        filter,
        out: VecDeque::new(),
        deltas: 0,
        prompt_tokens,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.out.pop_front() {
                return Some((ev, st));
            }
            let inner = st.inner.as_mut()?;
            match inner.next().await {
                Some(Ok(GenEvent::Delta(piece))) => {
                    st.deltas += 1;
                    let (text, stopped) = st.filter.push(&piece);
                    if !text.is_empty() {
                        st.out.push_back(Ok(GenEvent::Delta(text)));
                    }
                    if stopped {
                        let usage = drain_for_usage(inner).await.unwrap_or(Usage {
                            prompt_tokens: st.prompt_tokens,
                            completion_tokens: st.deltas,
                        });
                        st.inner = None;
                        st.out.push_back(Ok(GenEvent::Done {
                            finish_reason: FinishReason::Stop,
                            usage,
                        }));
                    }
                }
                Some(Ok(done @ GenEvent::Done { .. })) => {
                    let rest = st.filter.finish();
                    if !rest.is_empty() {
                        st.out.push_back(Ok(GenEvent::Delta(rest)));
                    }
                    st.inner = None;
                    st.out.push_back(Ok(done));
                }
                Some(Err(e)) => {
                    st.inner = None;
                    st.out.push_back(Err(e));
                }
                None => {
                    // The backend ended without `Done`: pass the held-back text on, then end.
                    let rest = st.filter.finish();
                    st.inner = None;
                    if !rest.is_empty() {
                        st.out.push_back(Ok(GenEvent::Delta(rest)));
                    }
                }
            }
        }
    }))
}

async fn drain_for_usage(inner: &mut GenStream) -> Option<Usage> {
    for _ in 0..DRAIN_EVENTS {
        match inner.next().await {
            Some(Ok(GenEvent::Done { usage, .. })) => return Some(usage),
            Some(Ok(GenEvent::Delta(_))) => continue,
            Some(Err(_)) | None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut f = StopFilter::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = String::new();
        for p in pieces {
            let (t, stopped) = f.push(p);
            out.push_str(&t);
            if stopped {
                return (out, true);
            }
        }
        out.push_str(&f.finish());
        (out, false)
    }

    #[test]
    fn stop_across_pieces_is_cut() {
        assert_eq!(
            run(&["END"], &["hello E", "N", "D and more"]),
            ("hello ".into(), true)
        );
        assert_eq!(run(&["\n\n"], &["a\n", "\nb"]), ("a".into(), true));
    }

    #[test]
    fn false_prefix_is_released() {
        assert_eq!(
            run(&["END"], &["hello E", "N", "x"]),
            ("hello ENx".into(), false)
        );
        assert_eq!(run(&["END"], &["hello E"]), ("hello E".into(), false));
    }

    #[test]
    fn earliest_stop_wins_and_multibyte_is_safe() {
        assert_eq!(run(&["b", "a"], &["xxab"]), ("xx".into(), true));
        assert_eq!(run(&["éé"], &["café", "é!"]), ("caf".into(), true));
        assert_eq!(run(&["ü"], &["日本語"]), ("日本語".into(), false));
    }
}
