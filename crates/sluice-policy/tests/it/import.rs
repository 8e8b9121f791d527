//! `sluice policy import`: gitleaks' own default config and a small Presidio file converted
//! into packs that compile and find what the source rules find.
//!
//! The gitleaks config is read from `shared/fixtures/gitleaks/gitleaks.toml` beside the
//! repository (never copied into it); the tests that need it say so and pass when it is
//! absent. Sample secrets are assembled here from each provider's documented format: none is
//! real.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use sluice_policy::import::{ImportOptions, ImportedPack, Loss, from_gitleaks, from_presidio};
use sluice_policy::{Boundary, Policy, PolicySource, PseudonymKey, Redactor};

use crate::support;

/// Share of gitleaks' default rules that must convert (measured at 221 of 222: only the
/// path-only `pkcs12-file` is skipped).
const MIN_CONVERTED_SHARE: f64 = 0.99;

fn gitleaks_fixture() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/gitleaks/gitleaks.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            eprintln!(
                "SKIPPED: gitleaks fixture not readable at {} ({e}); the gitleaks import \
                 tests need shared/fixtures beside the repository",
                path.display()
            );
            None
        }
    }
}

fn redactor(pack: &ImportedPack) -> Redactor {
    let policy = pack
        .compile()
        .unwrap_or_else(|e| panic!("converted pack compiles: {e}"));
    Redactor::new(Arc::new(policy), PseudonymKey::new(b"import test".to_vec()))
}

/// Rule ids that fire on `text`, with the text of each finding.
fn fired(r: &Redactor, text: &str) -> Vec<(String, String)> {
    r.redact(text, Boundary::Prompt)
        .findings
        .iter()
        .map(|f| (f.rule.to_string(), f.value.expose().to_owned()))
        .collect()
}

/// A deterministic filler of `n` characters from `alphabet` (no real secret, high entropy).
fn filler(alphabet: &str, n: usize, seed: u64) -> String {
    let a: Vec<char> = alphabet.chars().collect();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            a[((x >> 33) % a.len() as u64) as usize]
        })
        .collect()
}

const UPPER32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";
const DIGITS: &str = "0123456789";

#[test]
fn gitleaks_default_config() {
    let Some(text) = gitleaks_fixture() else {
        return;
    };
    let rules = text.matches("\n[[rules]]").count();
    let pack = from_gitleaks(&text, &ImportOptions::default()).expect("imports");

    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &pack.skipped {
        reasons.entry(&s.reason).or_default().push(&s.rule);
    }
    let mut losses: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in &pack.converted {
        for l in &c.losses {
            losses.entry(l.to_string()).or_default().push(&c.rule);
        }
    }
    eprintln!(
        "gitleaks: {rules} rules, {} converted, {} skipped, {} files",
        pack.converted.len(),
        pack.skipped.len(),
        pack.files.len()
    );
    for (reason, ids) in &reasons {
        eprintln!("  skipped ({}): {reason}: {}", ids.len(), ids.join(", "));
    }
    for (loss, ids) in &losses {
        eprintln!(
            "  converted with a difference ({}): {loss}: {}",
            ids.len(),
            ids.join(", ")
        );
    }
    for n in &pack.notes {
        eprintln!("  note: {n}");
    }

    assert_eq!(pack.converted.len() + pack.skipped.len(), rules);
    let share = pack.converted.len() as f64 / rules as f64;
    assert!(
        share >= MIN_CONVERTED_SHARE,
        "converted {share:.3} of the rules (floor {MIN_CONVERTED_SHARE})"
    );
    // Every converted rule is in the pack, once.
    let policy = pack.compile().expect("compiles");
    assert_eq!(policy.detector_count(), pack.converted.len());
    let ids: BTreeSet<&str> = pack.converted.iter().map(|c| c.detector.as_str()).collect();
    assert_eq!(ids.len(), pack.converted.len());
    // The path-only rule is skipped with its reason.
    assert!(
        pack.skipped
            .iter()
            .any(|s| s.rule == "pkcs12-file" && s.reason.starts_with("path-only")),
        "{:?}",
        pack.skipped
    );
}

#[test]
fn gitleaks_pack_finds_documented_formats() {
    let Some(text) = gitleaks_fixture() else {
        return;
    };
    let pack = from_gitleaks(&text, &ImportOptions::default()).expect("imports");
    let r = redactor(&pack);

    // (rule that must fire, text, the finding's exact text)
    let aws = format!("AKIA{}", filler(UPPER32, 16, 1));
    let ghp = format!("ghp_{}", filler(ALNUM, 36, 2));
    let gh_fine = format!(
        "github_pat_{}_{}",
        filler(ALNUM, 22, 3),
        filler(ALNUM, 59, 4)
    );
    let slack = format!(
        "xoxb-{}-{}-{}",
        filler(DIGITS, 12, 5),
        filler(DIGITS, 13, 6),
        filler(ALNUM, 24, 7)
    );
    let stripe = format!("sk_live_{}", filler(ALNUM, 24, 8));
    let glpat = format!("glpat-{}", filler(ALNUM, 20, 9));
    let npm = format!("npm_{}", filler(LOWER_ALNUM, 36, 10));
    let sendgrid = format!("SG.{}.{}", filler(ALNUM, 22, 11), filler(ALNUM, 43, 12));
    let gcp = format!("AIza{}", filler(ALNUM, 35, 13));
    let shopify = format!("shpat_{}", filler(HEX, 32, 14));
    let digitalocean = format!("dop_v1_{}", filler(HEX, 64, 15));
    let hf = format!(
        "hf_{}",
        filler(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            34,
            16
        )
    );
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
        filler(ALNUM, 40, 17),
        filler(ALNUM, 43, 18)
    );
    // An EC P-256 key's size: short enough for the default repetition cap.
    let pem_body: String = (0..3)
        .map(|i| filler(ALNUM, 64, 30 + i) + "\n")
        .collect::<String>()
        + &filler(ALNUM, 32, 33)
        + "==\n";
    let pem = format!("-----BEGIN EC PRIVATE KEY-----\n{pem_body}-----END EC PRIVATE KEY-----");

    let webhook = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        filler(UPPER32, 10, 22),
        filler(UPPER32, 10, 23),
        filler(ALNUM, 24, 24)
    );
    let airtable = format!("pat{}.{}", filler(ALNUM, 14, 25), filler(HEX, 64, 26));

    let cases: Vec<(&str, String, String)> = vec![
        (
            "gitleaks.aws-access-token",
            format!("aws_access_key_id = {aws}\n"),
            aws.clone(),
        ),
        ("gitleaks.github-pat", format!("token: {ghp}"), ghp.clone()),
        (
            "gitleaks.github-fine-grained-pat",
            format!("GH_TOKEN={gh_fine}"),
            gh_fine.clone(),
        ),
        (
            "gitleaks.slack-bot-token",
            format!("bot {slack} here"),
            slack.clone(),
        ),
        (
            "gitleaks.stripe-access-token",
            format!("STRIPE_KEY=\"{stripe}\""),
            stripe.clone(),
        ),
        (
            "gitleaks.gitlab-pat",
            format!("use {glpat} to push"),
            glpat.clone(),
        ),
        (
            "gitleaks.npm-access-token",
            format!("//registry.npmjs.org/:_authToken={npm}\n"),
            npm.clone(),
        ),
        (
            "gitleaks.sendgrid-api-token",
            format!("SENDGRID={sendgrid}\n"),
            sendgrid.clone(),
        ),
        (
            "gitleaks.gcp-api-key",
            format!("key: \"{gcp}\""),
            gcp.clone(),
        ),
        (
            "gitleaks.shopify-access-token",
            format!("X-Shopify-Access-Token: {shopify}"),
            shopify.clone(),
        ),
        (
            "gitleaks.digitalocean-pat",
            format!("DO_TOKEN={digitalocean}\n"),
            digitalocean.clone(),
        ),
        (
            "gitleaks.huggingface-access-token",
            format!("HF_TOKEN={hf}\n"),
            hf.clone(),
        ),
        (
            "gitleaks.jwt",
            format!("Authorization: Bearer {jwt}\n"),
            jwt.clone(),
        ),
        ("gitleaks.private-key", format!("{pem}\n"), pem.clone()),
        // Keywords that are not part of the match: required near it.
        (
            "gitleaks.slack-webhook-url",
            format!("notify: {webhook}\n"),
            webhook.clone(),
        ),
        (
            "gitleaks.airtable-personnal-access-token",
            format!("AIRTABLE_TOKEN={airtable}\n"),
            airtable.clone(),
        ),
    ];
    let mut failures = Vec::new();
    for (rule, text, value) in &cases {
        let found = fired(&r, text);
        if !found.iter().any(|(id, v)| id == rule && v == value) {
            let got: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
            failures.push(format!("{rule}: fired {got:?}"));
        }
    }
    assert!(failures.is_empty(), "missed:\n{}", failures.join("\n"));

    // Near misses: wrong length, wrong alphabet, placeholders, low entropy, allow-listed.
    let negatives = [
        format!("AKIA{}", filler(UPPER32, 12, 19)),
        "AKIAIOSFODNN7EXAMPLE".to_owned(),
        format!("ghp_{}", filler(ALNUM, 20, 20)),
        "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
        "glpat-xxxxxxxxxxxxxxxxxxxx".to_owned(),
        format!("dop_v1_{}", filler("ghijklmnop", 64, 21)),
        "the akia tree and the ghp_ prefix are words, not keys".to_owned(),
        // An Airtable-shaped token without the keyword near (gitleaks needs it too).
        format!("value={airtable}\n"),
    ];
    for text in &negatives {
        let found = fired(&r, text);
        assert!(found.is_empty(), "a near miss fired: {found:?}");
    }
}

#[test]
fn gitleaks_rules_map_fields() {
    let config = r#"
[allowlist]
stopwords = ["notasecret"]
paths = ['''vendor/''']

[[rules]]
id = "acme-token"
description = "Acme API token"
regex = '''(?i)acme[_-]?token\s*[:=]\s*["']?([a-z0-9]{32})'''
secretGroup = 1
entropy = 3.5
keywords = ["acme"]
[[rules.allowlists]]
regexes = ['''^0{8}''']
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''example''']

[[rules]]
id = "acme-path"
path = '''\.acme$'''

[[rules]]
id = "acme-backref"
regex = '''(a)\1'''
keywords = ["a"]
"#;
    let pack = from_gitleaks(config, &ImportOptions::default()).expect("imports");
    assert_eq!(pack.converted.len(), 1, "{:?}", pack.skipped);
    let c = &pack.converted[0];
    assert_eq!(c.detector, "gitleaks.acme-token");
    assert!(c.losses.contains(&Loss::RepetitionCapped(256)));
    assert!(
        c.losses
            .contains(&Loss::AllowlistDropped("regexTarget = \"line\"")),
        "{:?}",
        c.losses
    );
    assert_eq!(pack.notes.len(), 1, "{:?}", pack.notes);
    let skipped: BTreeMap<&str, &str> = pack
        .skipped
        .iter()
        .map(|s| (s.rule.as_str(), s.reason.as_str()))
        .collect();
    assert!(skipped["acme-path"].starts_with("path-only"));
    assert!(
        skipped["acme-backref"].contains("backreferences"),
        "{skipped:?}"
    );
    // Reasons never quote the pattern.
    assert!(pack.skipped.iter().all(|s| !s.reason.contains("\\1")));

    let file = &pack.files[0];
    assert_eq!(file.path, "acme.toml");
    assert!(
        file.text.contains("secret_group = 'secret'"),
        "{}",
        file.text
    );
    assert!(file.text.contains("min_entropy = 3.5"));
    assert!(
        file.text.contains("prefilter = [\"acme\"]") || file.text.contains("prefilter = ['acme']")
    );

    let r = redactor(&pack);
    let key = filler(LOWER_ALNUM, 32, 40);
    let found = fired(&r, &format!("ACME_TOKEN = \"{key}\""));
    assert_eq!(found, vec![("gitleaks.acme-token".to_owned(), key)]);
    // The secret group is the finding: allow patterns and stop words apply to it.
    assert!(
        fired(
            &r,
            &format!("acme_token: 00000000{}", filler(LOWER_ALNUM, 24, 41))
        )
        .is_empty()
    );
    assert!(
        fired(
            &r,
            &format!("acme_token: notasecret{}", filler(LOWER_ALNUM, 22, 42))
        )
        .is_empty()
    );
    // Entropy floor.
    assert!(fired(&r, "acme_token: abababababababababababababababab").is_empty());
}

#[test]
fn gitleaks_unreadable_input_is_an_error() {
    assert!(from_gitleaks("[[rules]]\nid = 3\n", &ImportOptions::default()).is_err());
    assert!(from_gitleaks("not toml = = =", &ImportOptions::default()).is_err());
}

const PRESIDIO: &str = r#"
recognizers:
  - name: Employee ID Recognizer
    supported_language: en
    supported_entity: EMPLOYEE_ID
    patterns:
      - name: employee id (strong)
        regex: "\\bEMP-\\d{6}\\b"
        score: 0.85
      - name: employee id (weak)
        regex: "\\b\\d{6}\\b"
        score: 0.2
      - name: lookbehind
        regex: "(?<=emp:)\\d{6}"
        score: 0.5
    context:
      - employee
      - staff
  - name: Titles recognizer
    supported_language: en
    supported_entity: TITLE
    deny_list:
      - Mr.
      - Dr.
      - Prof.
  - name: Ward recognizer
    supported_language: de
    supported_entity: HOSPITAL_WARD
    patterns:
      - name: ward
        regex: "Station [A-Z]\\d+"
        score: 0.6
    deny_list: [Intensivstation]
    context: [station, patient]
  - name: SpacyRecognizer
    type: predefined
"#;

#[test]
fn presidio_recognizers_convert() {
    let pack = from_presidio(PRESIDIO, &ImportOptions::default()).expect("imports");
    let converted: Vec<&str> = pack.converted.iter().map(|c| c.rule.as_str()).collect();
    assert_eq!(
        converted,
        [
            "Employee ID Recognizer/employee id (strong)",
            "Employee ID Recognizer/employee id (weak)",
            "Titles recognizer/deny_list",
            "Ward recognizer/ward",
            "Ward recognizer/deny_list",
        ]
    );
    let skipped: BTreeMap<&str, &str> = pack
        .skipped
        .iter()
        .map(|s| (s.rule.as_str(), s.reason.as_str()))
        .collect();
    assert!(skipped["Employee ID Recognizer/lookbehind"].contains("look-around"));
    assert!(skipped["SpacyRecognizer"].starts_with("predefined"));
    let weak = &pack.converted[1];
    assert_eq!(
        weak.detector,
        "presidio.employee-id-recognizer.employee-id-weak"
    );
    // 0.2 + 0.35 with context reaches 0.5: no low-score note.
    assert!(!weak.losses.contains(&Loss::LowScore));
    assert!(
        pack.converted[3]
            .losses
            .contains(&Loss::LanguageIgnored("de".into()))
    );

    let r = redactor(&pack);
    let found = |t: &str| -> Vec<(String, String)> { fired(&r, t) };
    // Strong pattern, case-insensitive as in Presidio (IGNORECASE by default).
    assert_eq!(
        found("badge emp-123456 issued"),
        vec![(
            "presidio.employee-id-recognizer.employee-id-strong".to_owned(),
            "emp-123456".to_owned()
        )]
    );
    // Weak pattern: only with a context word near (0.2 + 0.35 >= min_score 0.5).
    assert_eq!(
        found("staff number 654321"),
        vec![(weak.detector.clone(), "654321".to_owned())]
    );
    assert!(found("order 654321 shipped").is_empty());
    // Deny list: whole words, any case.
    assert_eq!(
        found("Signed, dr. Smith"),
        vec![(
            "presidio.titles-recognizer.deny_list".to_owned(),
            "dr.".to_owned()
        )]
    );
    assert!(found("Mrs Smith and Drew").is_empty());
    assert_eq!(
        found("patient moved to Station B12 today")
            .first()
            .map(|f| f.1.as_str()),
        Some("Station B12")
    );
    assert_eq!(
        found("Die Intensivstation ist voll")
            .first()
            .map(|f| f.0.as_str()),
        Some("presidio.ward-recognizer.deny_list")
    );
}

#[test]
fn presidio_unreadable_input_is_an_error() {
    assert!(from_presidio("recognizers: 3", &ImportOptions::default()).is_err());
    assert!(from_presidio("name: [", &ImportOptions::default()).is_err());
}

#[test]
fn gitleaks_pack_merges_into_the_shipped_policy() {
    let Some(text) = gitleaks_fixture() else {
        return;
    };
    let pack = from_gitleaks(&text, &ImportOptions::default()).expect("imports");
    // What a user does: the pack's files in `policies/gitleaks/`, the pack named in the root.
    let mut sources = support::sources(&support::repo().join("policies"));
    for s in &mut sources {
        if s.path == "sluice.toml" {
            s.text = s.text.replacen("packs = [", "packs = [\"gitleaks\", ", 1);
        }
    }
    let native = sources.len();
    sources.extend(pack.files.iter().map(|f| PolicySource {
        path: format!("gitleaks/{}", f.path),
        text: f.text.clone(),
    }));
    let policy = Policy::compile(&sources).unwrap_or_else(|e| panic!("merged set compiles: {e}"));
    // Every file but the root and the data files outside the packs (`data/`, name lists).
    let in_packs = sources
        .iter()
        .filter(|s| s.path != "sluice.toml" && !s.path.starts_with("data/"))
        .count();
    assert_eq!(policy.file_count(), in_packs);
    assert!(native > 1);
}
