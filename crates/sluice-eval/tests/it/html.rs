use sluice_eval::{
    LeakDetector, PassRule, Setting, SettingResult, escape_html, parse_json, render_html,
    render_json, render_table, score_setting,
};

use crate::run;

fn results() -> Vec<SettingResult> {
    let set = sluice_eval::EvalSet::from_toml(
        r#"
version = 1
[[question]]
id = "q1"
question = "Is <b>this</b> escaped?"
gold = [{ path = "a.md" }]
facts = ["yes"]
"#,
        "qa.toml",
    )
    .expect("set");
    let leaks = LeakDetector::default();
    let mut out = Vec::new();
    for (model, k, ms) in [
        ("small <model>", 3, 800.0),
        ("small <model>", 5, 900.0),
        ("big", 5, 3000.0),
    ] {
        let answer = "yes <script>alert('x')</script> & more [1].";
        let runs = vec![run(
            "q1",
            answer,
            &["a.md"],
            &["b.md", "a.md", "c.md", "d.md", "e.md"],
            ms,
        )];
        let setting = Setting {
            model: model.into(),
            k,
            mode: "hybrid".into(),
        };
        out.push(score_setting(setting, &set, runs, &leaks, &PassRule::default()).expect("scored"));
    }
    out
}

#[test]
fn html_is_self_contained_and_escaped() {
    let html = render_html(&results());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "scatter and recall-over-k charts"
    );
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("<model>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
    assert!(html.contains("Is &lt;b&gt;this&lt;/b&gt; escaped?"));
    for tag in ["table", "details", "tr"] {
        let open = html.matches(&format!("<{tag}")).count();
        let close = html.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "<{tag}> balanced");
    }
}

#[test]
fn recall_chart_needs_several_k() {
    let one = results().into_iter().take(1).collect::<Vec<_>>();
    let html = render_html(&one);
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(!html.contains("Retrieval recall over k"));
    // An empty report still renders.
    assert!(render_html(&[]).contains("<svg"));
}

#[test]
fn escape() {
    assert_eq!(
        escape_html("<a href=\"x\">'&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
}

#[test]
fn table_has_one_row_per_setting() {
    let table = render_table(&results());
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2 + 3, "{table}");
    assert!(lines[0].starts_with("setting"));
    assert!(lines[2].starts_with("small <model> · k=3 · hybrid"));
    assert!(lines[2].contains("100.0%"), "{table}");
}

#[test]
fn json_round_trips() {
    let results = results();
    let json = render_json(&results).expect("json");
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid json");
    assert_eq!(value["version"], 1);
    assert_eq!(value["settings"][0]["questions"][0]["run"]["id"], "q1");
    assert_eq!(
        value["settings"][0]["questions"][0]["run"]["kind"],
        "answerable"
    );
    assert_eq!(parse_json(&json).expect("parse"), results);
}

/// The legend used to sit inside the scatter plot, over the points of slow, weak models;
/// each entry must now be drawn below the 420-pixel plot.
#[test]
fn legend_sits_below_the_plot() {
    let html = render_html(&results());
    let scatter = &html[html.find("<svg").expect("svg")..];
    let scatter = &scatter[..scatter.find("</svg>").expect("end")];
    let mut seen = 0;
    for text in scatter.split("<text").skip(1) {
        let body = &text[text.find('>').expect("tag") + 1..text.find("</text>").expect("end")];
        if !body.contains("· k=") {
            continue;
        }
        seen += 1;
        let y = text.split("y=\"").nth(1).expect("y attribute");
        let y: f64 = y[..y.find('"').expect("quote")].parse().expect("number");
        assert!(y >= 420.0, "legend entry {body:?} at y = {y}");
    }
    assert_eq!(seen, 3, "one legend entry per setting");
}
