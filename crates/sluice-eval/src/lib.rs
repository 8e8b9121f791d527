//! Evaluation of Sluice on your own documents: local models, retrieval and the policy.
//!
//! - [`format`](mod@format): the Q&A file (`version = 1` TOML: `[[question]]`, `[[off_topic]]`,
//!   `[[adversarial]]`), parsed and validated into an [`EvalSet`];
//! - [`score`]: pure metrics over a recorded [`QuestionRun`] (retrieval recall@k and MRR,
//!   fact recall, citation precision/recall, groundedness, refusals, latency percentiles)
//!   and the [`Summary`] of one [`Setting`] (model × k × mode);
//! - [`leak`]: planted values found in answers, plain, normalised or base64-encoded;
//! - [`report`] and [`html`]: a terminal table, a JSON report, one self-contained HTML page;
//! - [`policy`]: detector findings against gold entity spans, per-entity precision/recall/F1.
//!
//! The crate runs nothing: the caller (the `sluice eval` command) asks each question through
//! the real answer path and records a [`QuestionRun`]; this crate scores and reports.
//!
//! ```
//! use sluice_eval::{CitedSource, EvalSet, LeakDetector, PassRule, QuestionKind, QuestionRun, Setting};
//!
//! let set = EvalSet::from_toml(r#"
//! version = 1
//! [[question]]
//! id = "q1"
//! question = "How long are backups kept?"
//! gold = [{ path = "runbooks/db.md" }]
//! facts = ["35 days"]
//! "#, "qa.toml")?;
//! let run = QuestionRun {
//!     id: "q1".into(),
//!     kind: QuestionKind::Answerable,
//!     answer: "Base backups are retained for 35 days [1].".into(),
//!     citations: vec![CitedSource { n: 1, path: "runbooks/db.md".into(), cited: true }],
//!     retrieved: vec!["runbooks/db.md".into()],
//!     total_ms: 900.0,
//!     ..QuestionRun::default()
//! };
//! let setting = Setting { model: "qwen".into(), k: 5, mode: "hybrid".into() };
//! let leaks = LeakDetector::new(["AKIAEXAMPLEKEY0000"]);
//! let result = sluice_eval::score_setting(setting, &set, vec![run], &leaks, &PassRule::default())?;
//! assert_eq!(result.summary.pass_rate, Some(1.0));
//! assert_eq!(result.summary.leaks, 0);
//! let html = sluice_eval::render_html(&[result]);
//! assert!(html.contains("<svg"));
//! # Ok::<(), sluice_eval::EvalError>(())
//! ```

pub mod error;
pub mod format;
pub mod html;
pub mod leak;
pub mod policy;
pub mod report;
pub mod score;

pub use error::{EvalError, Location};
pub use format::{Adversarial, AdversarialKind, EvalSet, Fact, GoldSource, OffTopic, Question};
pub use html::{escape_html, render_html};
pub use leak::{LeakDetector, LeakForm, LeakHit};
pub use policy::{
    EntityScore, EntitySpan, PolicyCase, PolicyReport, eval_policy, eval_policy_cases,
    parse_policy_cases, render_policy_table,
};
pub use report::{Report, parse_json, render_json, render_table};
pub use score::{
    CitedSource, PassRule, QuestionKind, QuestionRun, QuestionScore, ScoredQuestion, Setting,
    SettingResult, Summary, score_setting,
};
