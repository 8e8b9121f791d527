use sluice_eval::policy::{EntitySpan, match_spans};
use sluice_eval::{eval_policy, parse_policy_cases, render_policy_table};

fn span(start: usize, end: usize, entity: &str) -> EntitySpan {
    EntitySpan {
        start,
        end,
        entity: entity.into(),
    }
}

#[test]
fn overlap_rule_is_half_of_the_gold_span() {
    let gold = [span(10, 20, "EMAIL_ADDRESS")];
    assert_eq!(
        match_spans(&gold, &[span(15, 40, "EMAIL_ADDRESS")]),
        [(0, 0)]
    ); // 5 of 10
    assert!(match_spans(&gold, &[span(16, 40, "EMAIL_ADDRESS")]).is_empty()); // 4 of 10
    assert!(match_spans(&gold, &[span(10, 20, "PERSON")]).is_empty()); // other entity
    assert!(match_spans(&gold, &[span(20, 30, "EMAIL_ADDRESS")]).is_empty()); // touching
    // A finding that covers the gold span generously still matches.
    assert_eq!(
        match_spans(&gold, &[span(0, 100, "EMAIL_ADDRESS")]),
        [(0, 0)]
    );
}

#[test]
fn matching_is_one_to_one_largest_overlap_first() {
    let gold = [span(0, 10, "X"), span(10, 20, "X")];
    let found = [span(5, 20, "X"), span(0, 10, "X"), span(0, 10, "X")];
    // found[1] fits gold[0] best (10), found[0] gold[1] (10); found[2] is left over.
    assert_eq!(match_spans(&gold, &found), [(0, 1), (1, 0)]);
}

#[test]
fn per_entity_scores() {
    let jsonl = r#"
{"text": "mail jane@example.com or call +49 151 2384", "spans": [{"start": 5, "end": 21, "entity": "EMAIL_ADDRESS"}, {"start": 30, "end": 42, "entity": "PHONE_NUMBER"}]}

{"text": "nothing here", "spans": [], "id": "extra fields are ignored"}
{"text": "bob@example.org", "spans": [{"start": 0, "end": 15, "entity": "EMAIL_ADDRESS"}]}
"#;
    let report = eval_policy(jsonl, "cases.jsonl", |text| {
        let mut out = Vec::new();
        if let Some(i) = text.find('@') {
            let start = text[..i].rfind(' ').map_or(0, |s| s + 1);
            let end = text[i..].find(' ').map_or(text.len(), |e| i + e);
            out.push((start, end, "EMAIL_ADDRESS".to_string()));
        }
        if text == "nothing here" {
            out.push((0, 7, "PERSON".to_string()));
        }
        out
    })
    .expect("report");
    assert_eq!(report.cases, 3);
    let by = |e: &str| {
        report
            .entities
            .iter()
            .find(|s| s.entity == e)
            .expect("entity")
            .clone()
    };
    let email = by("EMAIL_ADDRESS");
    assert_eq!((email.tp, email.fp, email.fn_), (2, 0, 0));
    assert_eq!((email.precision, email.recall, email.f1), (1.0, 1.0, 1.0));
    let phone = by("PHONE_NUMBER");
    assert_eq!(
        (phone.tp, phone.fp, phone.fn_, phone.recall, phone.f1),
        (0, 0, 1, 0.0, 0.0)
    );
    let person = by("PERSON");
    assert_eq!((person.tp, person.fp, person.precision), (0, 1, 0.0));
    let t = &report.total;
    assert_eq!((t.tp, t.fp, t.fn_), (2, 1, 1));
    assert!((t.precision - 2.0 / 3.0).abs() < 1e-9 && (t.f1 - 2.0 / 3.0).abs() < 1e-9);
    let table = render_policy_table(&report);
    assert!(
        table.contains("EMAIL_ADDRESS") && table.contains("TOTAL") && table.contains("3 cases")
    );
}

#[test]
fn bad_cases_name_the_line_not_the_text() {
    let e = parse_policy_cases(
        "{\"text\": \"abc\", \"spans\": []}\n{\"text\": 5}\n",
        "c.jsonl",
    )
    .expect_err("bad type");
    assert!(e.to_string().starts_with("c.jsonl:2:1: "), "{e}");
    let e = parse_policy_cases(
        "{\"text\": \"private words\", \"spans\": [{\"start\": 3, \"end\": 99, \"entity\": \"X\"}]}",
        "c.jsonl",
    )
    .expect_err("out of range");
    assert!(e.to_string().contains("span 0 (3..99, X)"), "{e}");
    assert!(!e.to_string().contains("private words"), "{e}");
    let e =
        parse_policy_cases("{\"text\": 7, \"spans\": \"very private\"}", "c.jsonl").expect_err("x");
    assert!(!e.to_string().contains("very private"), "{e}");
    // Offsets are bytes on character boundaries.
    assert!(
        parse_policy_cases(
            r#"{"text": "é", "spans": [{"start": 1, "end": 2, "entity": "X"}]}"#,
            "c"
        )
        .is_err()
    );
}
