//! Stop strings applied to a stream of deltas. Backends honour stop strings themselves
//! (mistral.rs and OpenAI servers end the generation), but in streaming mode they emit
//! the text that contains the stop string; this adapter holds back any tail that could
//! be the start of a stop string, so the caller never sees a stop string or text after it.

use std::collections::VecDeque;

use futures::StreamExt;

use crate::repeats::RepeatGuard;
use crate::{FinishReason, GenEvent, GenStream, LlmError, StopFilter, Usage};

/// After a stop string, how many more events to read while waiting for the backend's
/// own `Done` (and its usage) before dropping the stream, which cancels the generation.
const DRAIN_EVENTS: usize = 16;

/// Stop strings a local model's raw output gets besides the caller's: the start of an echo
/// of the answer path's prompt template. Small models, when done answering, often replay
/// their input (`<source id="2" …>`, a new `Question:`) instead of ending; the answer is over
/// by then. They are fixed strings, not the caller's, so they cannot be aimed at a value.
pub(crate) const TEMPLATE_ECHOES: [&str; 3] = ["<source", "</source", "\nQuestion:"];

struct State {
    inner: Option<GenStream>,
    filter: StopFilter,
    repeats: Option<RepeatGuard>,
    out: VecDeque<Result<GenEvent, LlmError>>,
    deltas: usize,
    prompt_tokens: usize,
}

/// Applies `stops` to `inner`, and with `repeats` ends it once it repeats itself
/// ([`RepeatGuard`]).
/// `prompt_tokens` is reported if the generation has to be cut off before the backend sent
/// its usage.
pub(crate) fn apply_stops(
    inner: GenStream,
    stops: Vec<String>,
    prompt_tokens: usize,
    repeats: bool,
) -> GenStream {
    let filter = StopFilter::new(stops);
    if filter.is_empty() && !repeats {
        return inner;
    }
    let state = State {
        inner: Some(inner),
        filter,
        repeats: repeats.then(RepeatGuard::default),
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
                    let (text, mut stopped) = st.filter.push(&piece);
                    stopped |= st.repeats.as_mut().is_some_and(|r| r.push(&text));
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
    fn template_echoes_are_stops() {
        let echoes: Vec<&str> = TEMPLATE_ECHOES.to_vec();
        assert_eq!(
            run(&echoes, &["The answer is five [1].\n<sou", "rce id=\"2\">"]),
            ("The answer is five [1].\n".into(), true)
        );
        assert_eq!(
            run(&echoes, &["Done [1].\nQuestion: what else?"]),
            ("Done [1].".into(), true)
        );
    }

    #[test]
    fn earliest_stop_wins_and_multibyte_is_safe() {
        assert_eq!(run(&["b", "a"], &["xxab"]), ("xx".into(), true));
        assert_eq!(run(&["éé"], &["café", "é!"]), ("caf".into(), true));
        assert_eq!(run(&["ü"], &["日本語"]), ("日本語".into(), false));
    }
}
