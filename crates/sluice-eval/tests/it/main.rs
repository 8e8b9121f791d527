//! Integration tests of `sluice-eval`: one test binary, one module per area.

mod corpora;
mod format;
mod html;
mod policy;
mod score;

use sluice_eval::{CitedSource, QuestionKind, QuestionRun};

/// An answerable run citing `cited` (paths) with `answer`.
pub fn run(
    id: &str,
    answer: &str,
    cited: &[&str],
    retrieved: &[&str],
    total_ms: f64,
) -> QuestionRun {
    QuestionRun {
        id: id.into(),
        kind: QuestionKind::Answerable,
        answer: answer.into(),
        citations: cited
            .iter()
            .enumerate()
            .map(|(i, p)| CitedSource {
                n: i as u32 + 1,
                path: (*p).into(),
                cited: true,
            })
            .collect(),
        retrieved: retrieved.iter().map(|p| (*p).to_string()).collect(),
        first_token_ms: Some(total_ms / 4.0),
        total_ms,
        prompt_tokens: 100,
        completion_tokens: 20,
        ..QuestionRun::default()
    }
}
