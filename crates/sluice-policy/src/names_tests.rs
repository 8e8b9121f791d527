//! Unit tests of the name detector on a hand-made model.

use super::*;

fn model() -> NameModel {
    let set = |w: &str| word_set(w.split_whitespace());
    NameModel {
        first: set("jane karen will mark margaret"),
        surnames: set("doe okafor hoffmann johnson grant whitfield"),
        honorifics: set("mr dr ms"),
        lead_set: set("met with"),
        lead: vec![b"met with".to_vec(), b"ask".to_vec()],
        greet_set: set("hi regards"),
        greet: vec![b"hi".to_vec(), b"regards".to_vec()],
        lead_last: set("with ask hi regards"),
        ambiguous: set("will mark"),
        not_names: set("the may"),
        org_words: set("ltd llp"),
        particles: set("de van"),
        endings: vec![b"ski".to_vec()],
    }
}

fn names(text: &str) -> Vec<(&str, f32)> {
    let mut out = Vec::new();
    find(&model(), None, text, None, &mut out);
    out.iter()
        .filter(|f| f.score >= 0.5)
        .map(|f| (&text[f.start..f.end], f.score))
        .collect()
}

fn spans(text: &str) -> Vec<&str> {
    names(text).into_iter().map(|n| n.0).collect()
}

#[test]
fn words_are_capitalised_and_not_acronyms() {
    let t = "McDonald EMEA J. O'Brien Smith-Jones A Lefèvre x";
    let w = |i| word_at(t, i).map(|w| &t[w.start..w.end]);
    assert_eq!(w(0), Some("McDonald"));
    assert_eq!(w(9), None);
    assert_eq!(w(14), Some("J."));
    assert_eq!(w(17), Some("O'Brien"));
    assert_eq!(w(25), Some("Smith-Jones"));
    assert_eq!(w(37), None);
    assert_eq!(w(39), Some("Lefèvre"));
}

#[test]
fn shapes_of_names() {
    assert_eq!(spans("I met Jane Doe today."), ["Jane Doe"]);
    assert_eq!(
        spans("Dr. Okafor and Ms J. Whitfield"),
        ["Okafor", "J. Whitfield"]
    );
    assert_eq!(spans("Attendees: Hoffmann, Karen"), ["Hoffmann, Karen"]);
    assert_eq!(spans("Regards,\nMargaret"), ["Margaret"]);
    assert_eq!(spans("Hi Oisin, the file"), ["Oisin"]);
    assert_eq!(spans("ask Karen about it"), ["Karen"]);
    assert_eq!(spans("Jan de Wiśniewski signed"), ["Jan de Wiśniewski"]);
    assert_eq!(
        spans("Will Johnson and Mark Grant"),
        ["Will Johnson", "Mark Grant"]
    );
    assert_eq!(spans("Minutes by Karen Doe. The end"), ["Karen Doe"]);
    assert_eq!(spans("signed by Dr Okafor. Then"), ["Okafor"]);
    assert_eq!(spans("ask Jane Doe's team"), ["Jane Doe"]);
    assert!(spans("# Karen Doe\n").is_empty(), "a heading");
    assert_eq!(
        spans("met Karen van de Wiśniewski"),
        ["Karen van de Wiśniewski"]
    );
}

#[test]
fn words_that_only_look_like_names() {
    assert!(
        spans("Karen asked for the report.").is_empty(),
        "a single word"
    );
    assert!(spans("Will the team ship in May?").is_empty());
    assert!(
        spans("Will Review").is_empty(),
        "an ambiguous name needs a known surname"
    );
    assert!(
        spans("Jane Doe Ltd signed; Mark Grant LLP too").is_empty(),
        "companies"
    );
    assert!(
        spans("jane.Doe@x.org and /Jane Doe").is_empty(),
        "inside addresses and paths"
    );
}

#[test]
fn scores_rise_with_evidence() {
    let s = |t| names(t).first().map(|n| n.1).unwrap_or(0.0);
    assert!(s("Jane Doe") > s("Jane Smithers"));
    assert!(s("Mr Jane Smithers") > s("Jane Smithers"));
    assert!(s("Jane Wiśniewski") > s("Jane Smithers"));
}

#[test]
fn regions_cover_every_run() {
    let text = "Some text. Then Jane Doe met Karen Doe.";
    let mut regions = Vec::new();
    let mut out = Vec::new();
    find(&model(), None, text, Some(&mut regions), &mut out);
    for f in &out {
        assert!(regions.iter().any(|r| r.0 <= f.start && f.end < r.1));
    }
}
