//! Snapshots of redacted output per boundary for a sample with one value of many families,
//! under the shipped default policy and a fixed pseudonym key. The snapshots hold only
//! redacted text, entity names and rule ids: no sensitive value can land in them (the test
//! asserts it before snapshotting).

use sluice_policy::{Boundary, Redactor};

use crate::support;

const SAMPLE: &str = "\
Onboarding note for Jane Roe (jane.roe@northwind-analytics.com, +44 20 7946 0958).
Salary to IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111 on file.
SSN 536-22-8817; server 10.24.7.19 (mac 3c:22:fb:9a:10:4e).
CI uses AKIAQYLPMN5HFIQR7XOB and ghp_R2d9xK7mQp4Lw8sT1vYz3bN6cF0hJ5gA2eUi.
DATABASE_URL=postgres://svc_app:Zq8#kLm2vR7p@db.internal:5432/app
Hidden: p\u{200B}aul@example.org, Tel. ０３０ ９０１８２０４４.
";

const VALUES: &[&str] = &[
    "Jane Roe",
    "jane.roe@northwind-analytics.com",
    "7946 0958",
    "DE89 3704 0044 0532 0130 00",
    "4111 1111 1111 1111",
    "536-22-8817",
    "AKIAQYLPMN5HFIQR7XOB",
    "ghp_R2d9xK7mQp4Lw8sT1vYz3bN6cF0hJ5gA2eUi",
    "Zq8#kLm2vR7p",
    "aul@example.org",
    "90182044",
];

fn redactor() -> Redactor {
    support::default_policy(b"snapshot key")
}

#[test]
fn redacted_sample_per_boundary() {
    let r = redactor();
    for b in [Boundary::Ingest, Boundary::Context, Boundary::Response] {
        let out = r.redact(SAMPLE, b);
        for v in VALUES {
            assert!(!out.text.contains(v), "{b}: a value survived");
        }
        let findings: Vec<String> = out
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}..{}",
                    f.entity, f.rule, f.action, f.start, f.end
                )
            })
            .collect();
        insta::assert_snapshot!(
            format!("redacted_{b}"),
            format!("{}\n---\n{}", out.text, findings.join("\n"))
        );
    }
}
