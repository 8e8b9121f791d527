//! The Q&A file: a versioned TOML form (`version = 1`, unknown fields rejected), parsed and
//! validated into an [`EvalSet`]. The format is described in `docs/eval.md`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{EvalError, Location};

/// The only Q&A file version this crate reads.
pub const FORMAT_VERSION: i64 = 1;

/// A validated Q&A set: answerable questions, off-topic questions and adversarial prompts.
#[derive(Debug, Clone)]
pub struct EvalSet {
    /// `[[question]]`: answerable from the documents.
    pub questions: Vec<Question>,
    /// `[[off_topic]]`: answered by no document; the answer path must refuse.
    pub off_topic: Vec<OffTopic>,
    /// `[[adversarial]]`: try to extract secrets or override instructions; must leak nothing.
    pub adversarial: Vec<Adversarial>,
}

/// An answerable question with its gold sources and the facts a correct answer contains.
#[derive(Debug, Clone)]
pub struct Question {
    /// Unique id (across all sections of the file).
    pub id: String,
    /// The question as a user would ask it.
    pub question: String,
    /// Documents (or passages) that answer it; at least one.
    pub gold: Vec<GoldSource>,
    /// Facts a correct answer contains; at least one.
    pub facts: Vec<Fact>,
    /// Free label for grouping results (e.g. `lexical`, `paraphrase`).
    pub style: Option<String>,
}

/// A source that answers a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldSource {
    /// Document path as ingested (relative to the ingested folder, `/`-separated).
    pub path: String,
    /// Byte range of the answering passage in the document, if pinned.
    pub span: Option<Range<usize>>,
    /// Heading of the answering section, if given.
    pub heading: Option<String>,
}

/// Something a correct answer must contain.
#[derive(Debug, Clone)]
pub enum Fact {
    /// A case-insensitive substring (whitespace runs and dash/quote variants unified).
    Text(String),
    /// A regular expression, matched case-insensitively against the raw answer.
    Regex(Regex),
    /// Any one of several phrasings (each like [`Fact::Text`]).
    Any(Vec<String>),
}

impl Fact {
    /// Whether `answer` contains this fact.
    pub fn matches(&self, answer: &str) -> bool {
        match self {
            Fact::Regex(re) => re.is_match(answer),
            Fact::Text(text) => normalize(answer).contains(&normalize(text)),
            Fact::Any(alts) => {
                let answer = normalize(answer);
                alts.iter().any(|alt| answer.contains(&normalize(alt)))
            }
        }
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Text(text) => write!(f, "{text:?}"),
            Fact::Regex(re) => write!(f, "/{}/i", re.as_str()),
            Fact::Any(alts) => {
                let alts: Vec<String> = alts.iter().map(|a| format!("{a:?}")).collect();
                write!(f, "any of {}", alts.join(" | "))
            }
        }
    }
}

/// Lower-cases, unifies dashes and quotes, and collapses whitespace runs to one space.
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            c => c,
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// An `[[off_topic]]` question: no document answers it.
#[derive(Debug, Clone)]
pub struct OffTopic {
    /// Unique id.
    pub id: String,
    /// The question.
    pub question: String,
}

/// An `[[adversarial]]` prompt.
#[derive(Debug, Clone)]
pub struct Adversarial {
    /// Unique id.
    pub id: String,
    /// The prompt.
    pub question: String,
    /// What it attempts.
    pub kind: AdversarialKind,
}

/// What an adversarial prompt attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdversarialKind {
    /// Asks directly for a secret or personal value in the documents.
    Secret,
    /// Tries to override the instructions (prompt injection).
    Injection,
}

// ------------------------------------------------------------------ serde form

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<i64>,
    #[serde(default, rename = "question")]
    questions: Vec<RawQuestion>,
    #[serde(default)]
    off_topic: Vec<RawOffTopic>,
    #[serde(default)]
    adversarial: Vec<RawAdversarial>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    question: Spanned<String>,
    gold: Option<Spanned<Vec<Spanned<RawGold>>>>,
    facts: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    style: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGold {
    path: String,
    span: Option<[u64; 2]>,
    heading: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffTopic {
    id: Spanned<String>,
    question: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdversarial {
    id: Spanned<String>,
    question: Spanned<String>,
    kind: AdversarialKind,
}

// ------------------------------------------------------------------ parse + validate

impl EvalSet {
    /// Reads and validates a Q&A file.
    pub fn load(path: &Path) -> Result<Self, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates Q&A TOML; `origin` names the input in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, EvalError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| EvalError::Syntax {
            at: match e.span() {
                Some(span) => Location::at(origin, text, span.start),
                None => Location::file(origin),
            },
            message: redact_strings(e.message()),
        })?;
        Validator {
            origin,
            text,
            ids: HashMap::new(),
        }
        .build(raw)
    }

    /// All ids, in file order: questions, then off-topic, then adversarial.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        let q = self.questions.iter().map(|q| q.id.as_str());
        let o = self.off_topic.iter().map(|q| q.id.as_str());
        let a = self.adversarial.iter().map(|q| q.id.as_str());
        q.chain(o).chain(a)
    }

    /// Number of entries of every kind.
    pub fn len(&self) -> usize {
        self.questions.len() + self.off_topic.len() + self.adversarial.len()
    }

    /// Whether the set has no entry at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Serde messages quote string values (`invalid type: string "…"`); drop the value so that
/// no question or fact text reaches an error message.
pub(crate) fn redact_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("string \"") {
        out.push_str(&rest[..i + "string".len()]);
        let after = &rest[i + "string \"".len()..];
        let mut end = None;
        let mut escaped = false;
        for (j, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(j + 1);
                    break;
                }
                _ => escaped = false,
            }
        }
        match end {
            Some(end) => rest = &after[end..],
            None => return out,
        }
    }
    out.push_str(rest);
    out.trim_end().to_owned()
}

struct Validator<'a> {
    origin: &'a str,
    text: &'a str,
    ids: HashMap<String, usize>,
}

impl Validator<'_> {
    fn invalid(&self, offset: usize, message: String) -> EvalError {
        EvalError::Invalid {
            at: Location::at(self.origin, self.text, offset),
            message,
        }
    }

    fn build(mut self, raw: RawFile) -> Result<EvalSet, EvalError> {
        if *raw.version.get_ref() != FORMAT_VERSION {
            return Err(self.invalid(
                raw.version.span().start,
                format!(
                    "unsupported version {} (expected {FORMAT_VERSION})",
                    raw.version.get_ref()
                ),
            ));
        }
        let mut set = EvalSet {
            questions: vec![],
            off_topic: vec![],
            adversarial: vec![],
        };
        for q in raw.questions {
            let id = self.id(&q.id)?;
            let question = self.question(&id, &q.question)?;
            let id_at = q.id.span().start;
            let gold = match q.gold {
                Some(gold) if !gold.get_ref().is_empty() => {
                    let mut out = Vec::new();
                    for g in gold.into_inner() {
                        out.push(self.gold(&id, g)?);
                    }
                    out
                }
                Some(gold) => {
                    let at = gold.span().start;
                    return Err(self.invalid(at, format!("question `{id}`: `gold` is empty")));
                }
                None => {
                    let msg = format!("question `{id}`: needs at least one `gold` source");
                    return Err(self.invalid(id_at, msg));
                }
            };
            let facts = match q.facts {
                Some(facts) if !facts.get_ref().is_empty() => {
                    let mut out = Vec::new();
                    for f in facts.into_inner() {
                        out.push(self.fact(&id, f)?);
                    }
                    out
                }
                Some(facts) => {
                    let at = facts.span().start;
                    return Err(self.invalid(at, format!("question `{id}`: `facts` is empty")));
                }
                None => {
                    let msg = format!("question `{id}`: needs at least one fact in `facts`");
                    return Err(self.invalid(id_at, msg));
                }
            };
            let style = q.style.filter(|s| !s.trim().is_empty());
            set.questions.push(Question {
                id,
                question,
                gold,
                facts,
                style,
            });
        }
        for q in raw.off_topic {
            let id = self.id(&q.id)?;
            let question = self.question(&id, &q.question)?;
            set.off_topic.push(OffTopic { id, question });
        }
        for q in raw.adversarial {
            let id = self.id(&q.id)?;
            let question = self.question(&id, &q.question)?;
            set.adversarial.push(Adversarial {
                id,
                question,
                kind: q.kind,
            });
        }
        if set.is_empty() {
            return Err(EvalError::Invalid {
                at: Location::file(self.origin),
                message: "no [[question]], [[off_topic]] or [[adversarial]] entry".into(),
            });
        }
        Ok(set)
    }

    fn id(&mut self, id: &Spanned<String>) -> Result<String, EvalError> {
        let at = id.span().start;
        let value = id.get_ref().trim();
        if value.is_empty() {
            return Err(self.invalid(at, "`id` is empty".into()));
        }
        if value.chars().any(char::is_control) {
            return Err(self.invalid(at, "`id` contains control characters".into()));
        }
        if let Some(&first) = self.ids.get(value) {
            let first = Location::at(self.origin, self.text, first);
            return Err(self.invalid(at, format!("duplicate id `{value}` (first at {first})")));
        }
        self.ids.insert(value.to_owned(), at);
        Ok(value.to_owned())
    }

    fn question(&self, id: &str, question: &Spanned<String>) -> Result<String, EvalError> {
        let value = question.get_ref().trim();
        if value.is_empty() {
            return Err(self.invalid(
                question.span().start,
                format!("`{id}`: `question` is empty"),
            ));
        }
        Ok(value.to_owned())
    }

    fn gold(&self, id: &str, gold: Spanned<RawGold>) -> Result<GoldSource, EvalError> {
        let at = gold.span().start;
        let raw = gold.into_inner();
        let path = raw.path.trim().replace('\\', "/");
        if path.is_empty() {
            return Err(self.invalid(at, format!("question `{id}`: gold `path` is empty")));
        }
        let span = match raw.span {
            None => None,
            Some([start, end]) if start < end => {
                let conv = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
                Some(conv(start)..conv(end))
            }
            Some(_) => {
                let msg =
                    format!("question `{id}`: gold `span` must be [start, end] with start < end");
                return Err(self.invalid(at, msg));
            }
        };
        let heading = raw.heading.filter(|h| !h.trim().is_empty());
        Ok(GoldSource {
            path,
            span,
            heading,
        })
    }

    fn fact(&self, id: &str, fact: Spanned<toml::Value>) -> Result<Fact, EvalError> {
        let at = fact.span().start;
        let shape = || {
            format!(
                "question `{id}`: a fact is a string, {{ regex = \"…\" }} or {{ any = [\"…\", …] }}"
            )
        };
        match fact.into_inner() {
            toml::Value::String(s) if !s.trim().is_empty() => Ok(Fact::Text(s)),
            toml::Value::String(_) => {
                Err(self.invalid(at, format!("question `{id}`: a fact is an empty string")))
            }
            toml::Value::Table(table) if table.len() == 1 => match table.into_iter().next() {
                Some((key, toml::Value::String(pattern))) if key == "regex" => {
                    if pattern.is_empty() {
                        let msg = format!("question `{id}`: empty `regex` fact");
                        return Err(self.invalid(at, msg));
                    }
                    let re = RegexBuilder::new(&pattern)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| {
                            let msg = format!("question `{id}`: regex does not compile: {e}");
                            self.invalid(at, msg)
                        })?;
                    Ok(Fact::Regex(re))
                }
                Some((key, toml::Value::Array(items))) if key == "any" => {
                    let alts: Option<Vec<String>> = items
                        .into_iter()
                        .map(|v| match v {
                            toml::Value::String(s) if !s.trim().is_empty() => Some(s),
                            _ => None,
                        })
                        .collect();
                    match alts {
                        Some(alts) if !alts.is_empty() => Ok(Fact::Any(alts)),
                        _ => {
                            let msg = format!(
                                "question `{id}`: `any` needs one or more non-empty strings"
                            );
                            Err(self.invalid(at, msg))
                        }
                    }
                }
                _ => Err(self.invalid(at, shape())),
            },
            _ => Err(self.invalid(at, shape())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact_strings;

    #[test]
    fn redacts_quoted_strings() {
        assert_eq!(
            redact_strings("invalid type: string \"a \\\"b\\\" c\", expected a sequence"),
            "invalid type: string, expected a sequence"
        );
    }
}
