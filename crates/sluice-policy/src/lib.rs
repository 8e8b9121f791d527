//! Sluice's policy engine: detectors, actions, and a streaming redactor.
//!
//! Pure and synchronous: it takes policy *text* and input text, and does no file or network
//! IO, so it is fast to build, easy to test and safe to embed anywhere.
//!
//! ```
//! use std::sync::Arc;
//! use sluice_policy::{Boundary, Policy, PolicySource, PseudonymKey, Redactor};
//!
//! let root = r#"
//! version = 1
//! packs = ["pii"]
//! [boundaries.prompt]
//! default = "redact"
//! "#;
//! let email = r#"
//! version = 1
//! category = "pii"
//! [[detector]]
//! id = "pii.email"
//! entity = "EMAIL_ADDRESS"
//! pattern = '[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}'
//! prefilter = ["@"]
//! "#;
//! let policy = Policy::compile(&[
//!     PolicySource { path: "sluice.toml".into(), text: root.into() },
//!     PolicySource { path: "pii/email.toml".into(), text: email.into() },
//! ])?;
//! let redactor = Redactor::new(Arc::new(policy), PseudonymKey::new(b"demo key".to_vec()));
//! let out = redactor.redact("write to jane@acme.io", Boundary::Prompt);
//! assert_eq!(out.text, "write to [EMAIL_ADDRESS]");
//! assert_eq!(&*out.findings[0].rule, "pii.email");
//! # Ok::<(), sluice_policy::PolicyError>(())
//! ```

mod action;
mod detect;
mod encoded;
mod error;
mod file;
mod file_cases;
pub mod import;
mod live;
mod names;
mod names_build;
mod names_score;
mod normalize;
mod policy;
mod redact;
mod sensitive;
mod stream;

pub use action::{Action, Boundary};
pub use encoded::Encoding;
pub use error::{Diagnostic, PolicyError};
pub use file_cases::{FileReport, TestReport, run_tests};
pub use policy::{Policy, PolicySource, ROOT_FILE};
pub use redact::{Blocked, Finding, Redaction, Redactor};
pub use sensitive::{PseudonymKey, SensitiveValue};
pub use stream::StreamRedactor;
