//! The streaming redactor's per-position hold-back, on the shipped policy: prose is released
//! word by word, a tail that looks like the start of a value waits, and whatever the split,
//! the stream equals the batch run (split everywhere, and at rule boundaries).

use proptest::prelude::*;
use sluice_policy::{Boundary, Redactor};

use crate::support;

fn policy() -> Redactor {
    static POLICY: std::sync::LazyLock<Redactor> =
        std::sync::LazyLock::new(|| support::default_policy(b"streaming test key"));
    POLICY.clone()
}

/// Pushes `pieces` one by one; returns what each push emitted, and the rest from `finish`.
fn stream(r: &Redactor, b: Boundary, pieces: &[&str]) -> (Vec<String>, String) {
    let mut s = r.stream(b);
    let emitted = pieces
        .iter()
        .map(|p| s.push(p).expect("not blocked"))
        .collect();
    (emitted, s.finish().expect("not blocked"))
}

/// Model-sized tokens of prose: a leading space and a word.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if i > start && (c == ' ' || c == '\n') {
            out.push(&text[start..i]);
            start = i;
        }
    }
    out.push(&text[start..]);
    out
}

const PROSE: &str = "To fail over the primary database, first confirm that the replica in \
the second region is healthy and that replication lag is below five seconds. Then promote \
the replica with the runbook's promote command, point the application's connection pool at \
the new primary, and watch the error rate for ten minutes. If anything looks wrong, page \
the on-call engineer and keep the old primary fenced until the incident review.\n\nSources: \
the database failover runbook, section 5.";

#[test]
fn prose_is_released_word_by_word() {
    let r = policy();
    let toks = tokens(PROSE);
    let mut s = r.stream(Boundary::Response);
    let mut events = 0;
    let mut out = String::new();
    for t in &toks {
        let o = s.push(t).expect("prose is not blocked");
        if !o.is_empty() {
            events += 1;
        }
        out.push_str(&o);
        // Only the word being written (and the space before it) may wait.
        assert!(
            s.pending() <= t.len() + 1,
            "{} bytes held after {t:?}",
            s.pending()
        );
    }
    out.push_str(&s.finish().expect("not blocked"));
    assert_eq!(out, r.redact(PROSE, Boundary::Response).text);
    assert!(
        events * 10 >= toks.len() * 9,
        "{events} events for {} tokens",
        toks.len()
    );
}

#[test]
fn the_start_of_a_value_waits_until_it_is_complete() {
    let r = policy();
    let mut s = r.stream(Boundary::Response);
    let first = s.push("Use the key AKIA").expect("not blocked");
    assert_eq!(first, "Use the key ", "the key id prefix waits");
    let second = s.push("Z7QWUUY2R6U7").expect("not blocked");
    assert_eq!(second, "", "an incomplete key id is held whole");
    let rest = s.push("D4WS and go.").expect("not blocked");
    let rest = rest + &s.finish().expect("not blocked");
    assert!(!rest.contains("AKIA"), "{rest}");
    assert!(rest.ends_with(" and go."), "{rest}");

    // A connection string's server part is held while a password may still follow it...
    let mut s = r.stream(Boundary::Response);
    let out = s
        .push("conn: Server=db01;Database=app;")
        .expect("not blocked");
    assert_eq!(out, "conn: ");
    let out = s.push("Password=hunter2hunter2;").expect("not blocked");
    assert!(!out.contains("hunter2"), "{out}");
    let all = out + &s.finish().expect("not blocked");
    assert!(!all.contains("hunter2") && !all.contains("db01"), "{all}");

    // ...and released once it cannot be one any more.
    let mut s = r.stream(Boundary::Response);
    let mut out = s.push("The Server=db01 line").expect("not blocked");
    out += &s.push("\nis fine.\n").expect("not blocked");
    assert!(out.starts_with("The Server=db01 line"), "{out:?}");
}

#[test]
fn a_name_is_held_until_it_is_decided() {
    let r = policy();
    let text = "Please ask Jane Doe for the slides, then Mark the review as done.";
    let batch = r.redact(text, Boundary::Response).text;
    assert!(!batch.contains("Doe"), "{batch}");
    let (emitted, rest) = stream(&r, Boundary::Response, &tokens(text));
    for (i, e) in emitted.iter().enumerate() {
        assert!(
            !e.contains("Jane"),
            "token {i} released the first name: {e:?}"
        );
    }
    assert_eq!(emitted.concat() + &rest, batch);
    // The text before the name (and its lead word `ask`) went out before the name came.
    assert!(emitted[..2].concat().starts_with("Please"), "{emitted:?}");
}

#[test]
fn a_context_word_after_a_value_is_waited_for() {
    let r = policy();
    // A bare 3-3-4 number is an NHS number only with its label, which may come after it.
    let text = "Reference 943 476 5919 is the patient's NHS number.";
    let batch = r.redact(text, Boundary::Response).text;
    let (emitted, rest) = stream(&r, Boundary::Response, &tokens(text));
    let streamed = emitted.concat() + &rest;
    assert_eq!(streamed, batch);
    for (i, e) in emitted.iter().enumerate() {
        assert!(!e.contains("5919"), "token {i} released the number: {e:?}");
    }
}

/// Texts built around rule boundaries: literal prefixes, key/value joins, encoded runs,
/// invisible and combining characters inside values.
fn boundary_cases() -> Vec<String> {
    let key_id = ["AK", "IA", "Z7QW", "UUY2R6U7D4WS"].concat();
    let secret = ["wJalrXUtnFEMI", "/K7MDENG/bPxRfiCY", "Zq8Tn3Lm2Vx9"].concat();
    let b64 = "QUtJQVo3UVdVVVkyUjZVN0Q0V1M=";
    vec![
        format!("aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"),
        format!("the key id {key_id} and secret {secret} are in the vault"),
        format!("token: {b64} (base64)"),
        format!("A\u{200B}{}", &key_id[1..]),
        format!("{}\u{0332}{}", &key_id[..4], &key_id[4..]),
        "Server=tcp:db.example.net,1433;Initial Catalog=app;User ID=svc;Password=Q96ulUMyUfXP%PTk;Encrypt=True;".to_owned(),
        "mail jane.doe@example.org or call +44 20 7946 0958 today".to_owned(),
        "card 4111 1111 1111 1111 exp 12/29, IBAN GB82 WEST 1234 5698 7654 32.".to_owned(),
        "ｐａｓｓｗｏｒｄ＝Xk9#mQ2!vL7p and Project Bluefin".to_owned(),
        "curl -H \"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\" https://api.example.net".to_owned(),
        // People's names: a run still growing, a mail header, a sign-off, `Last, First`,
        // initials, particles, a company word after a name, accented letters.
        "From: Jane Doe <jane.doe@example.org>\nKind regards,\nMargaret Okafor\nHead of Procurement".to_owned(),
        "Dr. J. Whitfield met with Pieter de Vries and Hoffmann, Karen in May.".to_owned(),
        "Will Johnson called Grant Thornton LLP; Hi Oisin, ask Katarzyna Wiśniewska.".to_owned(),
    ]
}

fn all_boundaries() -> [Boundary; 4] {
    [
        Boundary::Ingest,
        Boundary::Prompt,
        Boundary::Context,
        Boundary::Response,
    ]
}

/// Streams `text` split at `points` (sorted char boundaries); asserts every emitted prefix is
/// a prefix of the batch output and that the whole equals it (or both block alike).
fn check_split(r: &Redactor, b: Boundary, text: &str, points: &[usize]) {
    let batch = r.redact(text, b);
    let mut s = r.stream(b);
    let mut out = String::new();
    let mut prev = 0;
    for &p in points.iter().chain(std::iter::once(&text.len())) {
        match s.push(&text[prev..p]) {
            Ok(o) => out.push_str(&o),
            Err(e) => {
                assert_eq!(Some(&e), batch.blocked.as_ref(), "{b}: {text:?} at {p}");
                return;
            }
        }
        assert!(
            batch.text.starts_with(&out),
            "{b}: {text:?} split at {points:?}: emitted {out:?}, batch {:?}",
            batch.text
        );
        prev = p;
    }
    match s.finish() {
        Ok(o) => out.push_str(&o),
        Err(e) => {
            assert_eq!(Some(&e), batch.blocked.as_ref(), "{b}: {text:?}");
            return;
        }
    }
    assert!(
        batch.blocked.is_none(),
        "{b}: {text:?}: batch blocks, stream did not"
    );
    assert_eq!(out, batch.text, "{b}: {text:?} split at {points:?}");
}

#[test]
fn split_anywhere_at_rule_boundaries_equals_batch() {
    let r = policy();
    for text in boundary_cases() {
        let chars: Vec<usize> = text.char_indices().map(|(i, _)| i).skip(1).collect();
        for b in all_boundaries() {
            // One cut anywhere, and every character on its own.
            for &p in &chars {
                check_split(&r, b, &text, &[p]);
            }
            check_split(&r, b, &text, &chars);
        }
    }
}

#[test]
fn corpus_documents_split_everywhere_equal_batch() {
    let r = policy();
    let root = support::repo().join("corpora");
    // The shortest documents of a few kinds: every byte position as the only cut, and one
    // character at a time.
    for rel in [
        "config/prod-config-dump.txt",
        "hr/payroll-onboarding.md",
        "runbooks/database-failover.md",
    ] {
        let path = root.join(rel);
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("{} is part of the corpus", path.display());
        };
        let text: String = text.chars().take(1500).collect();
        let chars: Vec<usize> = text.char_indices().map(|(i, _)| i).skip(1).collect();
        for &p in &chars {
            check_split(&r, Boundary::Context, &text, &[p]);
        }
        check_split(&r, Boundary::Context, &text, &chars);
    }
}

fn arb_case() -> impl Strategy<Value = (String, Vec<prop::sample::Index>)> {
    let pieces = boundary_cases();
    (
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(pieces),
                prop::sample::select(vec![
                    " ".to_owned(),
                    "\n".to_owned(),
                    "the ".to_owned(),
                    "password is ".to_owned(),
                    "NHS number ".to_owned(),
                    "met with ".to_owned(),
                    "Jane ".to_owned(),
                    "Doe".to_owned(),
                    "Mr. ".to_owned(),
                    ", ".to_owned(),
                    " Ltd".to_owned(),
                    "\u{200B}".to_owned(),
                ]),
            ],
            1..6,
        )
        .prop_map(|v| v.concat()),
        prop::collection::vec(any::<prop::sample::Index>(), 0..16),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Values and labels in any order, split anywhere: the stream equals the batch run and
    /// never emits what the batch run redacts.
    #[test]
    fn streaming_equals_batch_around_values((text, cuts) in arb_case()) {
        let r = policy();
        let mut points: Vec<usize> = cuts
            .iter()
            .map(|i| i.index(text.len() + 1))
            .filter(|&p| text.is_char_boundary(p) && p < text.len())
            .collect();
        points.sort_unstable();
        points.dedup();
        for b in all_boundaries() {
            check_split(&r, b, &text, &points);
        }
    }
}
