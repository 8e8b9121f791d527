//! Adversarial inputs against the shipped default policy (`policies/`): values hidden with
//! invisible or look-alike characters, and placeholders planted to switch a detector off.

use sluice_policy::{Boundary, Redactor};

use crate::support;

const KEY: &str = "AKIAIOSFODNN7EXAMPL3";

fn default_policy() -> Redactor {
    support::default_policy(b"evasion test")
}

/// Batch and one-character-at-a-time streaming output of `text` at the context boundary.
fn both(r: &Redactor, text: &str) -> (String, String) {
    let batch = r.redact(text, Boundary::Context).text;
    let mut s = r.stream(Boundary::Context);
    let mut streamed = String::new();
    for c in text.chars() {
        streamed.push_str(&s.push(c.encode_utf8(&mut [0; 4])).expect("not blocked"));
    }
    streamed.push_str(&s.finish().expect("not blocked"));
    (batch, streamed)
}

#[test]
fn hidden_characters_do_not_hide_an_aws_key() {
    let r = default_policy();
    let plain = r.redact(&format!("key {KEY} end"), Boundary::Context);
    assert_eq!(plain.text, "key [AWS_ACCESS_KEY_ID] end");
    let rule = &*plain.findings[0].rule;

    let after_akia = |hidden: &str| format!("AKIA{hidden}{}", &KEY[4..]);
    let every_char = |mark: char| KEY.chars().flat_map(|c| [c, mark]).collect::<String>();
    let variants = [
        // Variation selectors supplement.
        after_akia("\u{E0100}"),
        after_akia("\u{E01EF}"),
        // Hangul fillers (NFKC of the half-width one is U+1160, also invisible).
        after_akia("\u{3164}"),
        after_akia("\u{FFA0}"),
        // Musical symbol formatting characters.
        after_akia("\u{1D173}"),
        after_akia("\u{1D17A}"),
        // Interlinear annotation controls.
        after_akia("\u{FFF9}\u{FFFA}\u{FFFB}"),
        // A visible combining mark after every character.
        every_char('\u{0332}'),
        // Cherokee look-alike of `A`.
        format!("\u{13AA}{}", &KEY[1..]),
    ];
    for v in &variants {
        let text = format!("key {v} end");
        let out = r.redact(&text, Boundary::Context);
        assert_eq!(out.text, plain.text, "{v:?}");
        assert_eq!(out.findings.len(), 1, "{v:?}");
        assert_eq!(&*out.findings[0].rule, rule, "{v:?}");
        // The finding covers the original bytes, hidden characters included.
        assert_eq!(out.findings[0].value.expose(), v.as_str());
        let (batch, streamed) = both(&r, &text);
        assert_eq!(streamed, batch, "{v:?}");
    }
}

#[test]
fn bracketed_token_does_not_hide_a_connection_string_password() {
    let r = default_policy();
    for text in [
        "Server=db;User Id=sa;Password=[X1]hunter2secret;",
        "Server=db;User Id=sa;Password=[EMAIL_ADDRESS]hunter2secret;",
        "Server=db;User Id=sa;Password=hunter2[X1]secret;",
        "DATABASE_URL=postgres://sa:[X1]hunter2secret@db.internal:5432/app",
        "DATABASE_URL=mysql://sa:hunter2secret[X1]@db.internal:3306/app",
    ] {
        let out = r.redact(text, Boundary::Context);
        assert!(!out.text.contains("hunter2"), "{text} -> {}", out.text);
        assert!(
            out.findings
                .iter()
                .any(|f| &*f.entity == "CONNECTION_STRING"),
            "{text}: {:?}",
            out.findings
        );
    }
}

#[test]
fn a_run_of_stars_does_not_hide_a_connection_string_password() {
    let r = default_policy();
    let text = format!(
        "Server=db;User Id=sa;Password={}hunter2secret;",
        "*".repeat(80)
    );
    let out = r.redact(&text, Boundary::Context);
    assert!(!out.text.contains("hunter2"), "{}", out.text);
}

#[test]
fn sluice_replacements_are_still_left_alone() {
    let r = default_policy();
    for b in [Boundary::Ingest, Boundary::Context, Boundary::Response] {
        let once = r.redact(
            &format!(
                "jane@acme.io card 4111 1111 1111 1111 {KEY} \
                 postgres://sa:hunter2secret@db.internal:5432/app"
            ),
            b,
        );
        assert!(!once.findings.is_empty());
        let twice = r.redact(&once.text, b);
        assert!(
            twice.findings.is_empty(),
            "{b}: {:?} -> {:?}",
            once.text,
            twice.findings
        );
    }
}
