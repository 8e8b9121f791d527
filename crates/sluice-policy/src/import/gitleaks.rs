//! gitleaks config (`gitleaks.toml`) → a Sluice secrets pack.
//!
//! | gitleaks | Sluice |
//! |---|---|
//! | `id` | detector `gitleaks.<id>`, entity `<ID>` in SCREAMING_SNAKE_CASE, file `<first word of id>.toml` |
//! | `regex` (Go RE2) | `pattern`, rewritten for Rust's engine with unbounded repetitions capped |
//! | `secretGroup` (else the only group) | the group is renamed `secret` (the finding) |
//! | `entropy` | `min_entropy` (Shannon bits per character of the finding, as gitleaks) |
//! | `keywords` | `prefilter` when every match contains one; else required `context` |
//! | allow-list `regexes` (target secret), `stopwords` | `allow_patterns` |
//! | global `[allowlist]` / `[[allowlists]]` (with `targetRules`) | `allow_patterns` of each rule |
//! | `generic*` rules | `priority = 40`, below provider rules on the same span |
//! | `path`, allow-list `paths`/`commits`, target `line` | not representable: see [`Loss`] |
//!
//! A rule with only a `path` (a file-name rule) is skipped: Sluice scans text, not files.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::pattern::{self, Dialect, GroupChoice, GroupOutcome};
use super::{
    DetectorOut, Draft, ImportError, ImportOptions, ImportedPack, Loss, Outcome, Skipped,
    entity_name, finish, id_part, unique,
};

/// Priority of gitleaks' catch-all `generic*` rules (others keep the default, 50).
const GENERIC_PRIORITY: i32 = 40;

/// Errors of [`from_gitleaks`].
#[derive(Debug, thiserror::Error)]
pub enum GitleaksError {
    /// The file is not a gitleaks config (TOML syntax or a field of the wrong type).
    #[error("not a gitleaks config: {0}")]
    Parse(#[from] toml::de::Error),
    /// The converted pack could not be made valid.
    #[error(transparent)]
    Pack(#[from] ImportError),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    extend: Option<toml::Value>,
    #[serde(default)]
    allowlist: Option<Allowlist>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    secret_group: Option<u32>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    allowlist: Option<Allowlist>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
    #[serde(default)]
    skip_report: bool,
    #[serde(default)]
    required: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    tags: Vec<String>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Allowlist {
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    target_rules: Vec<String>,
}

/// What an allow pattern is tested against in gitleaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The secret (the capture group, or the match when there is none).
    Secret,
    /// The whole match.
    Match,
}

/// One allow pattern, translated.
#[derive(Debug, Clone)]
struct Allow {
    target: Target,
    pattern: String,
}

/// An allow-list converted once, applied to rules as their groups allow.
#[derive(Debug, Default)]
struct AllowSet {
    allows: Vec<Allow>,
    /// Entries that could not be converted for any rule.
    dropped: BTreeSet<&'static str>,
}

/// Converts a gitleaks config. Rules that cannot be represented are listed in
/// [`ImportedPack::skipped`]; the pack returned always compiles.
pub fn from_gitleaks(text: &str, opts: &ImportOptions) -> Result<ImportedPack, GitleaksError> {
    let config: Config = toml::from_str(text)?;
    let mut notes = Vec::new();
    if config.extend.is_some() {
        notes.push(
            "`[extend]` is not followed: only the rules in this file are imported".to_owned(),
        );
    }
    let mut global: Vec<(Vec<String>, AllowSet)> = Vec::new();
    for list in config.allowlist.iter().chain(&config.allowlists) {
        let c = convert_allowlist(list);
        for what in &c.dropped {
            notes.push(format!(
                "global allow-list entries dropped ({what}): more findings"
            ));
        }
        global.push((list.target_rules.clone(), c));
    }

    // gitleaks keeps the last rule of an id.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in config.rules.iter().enumerate() {
        last.insert(&r.id, i);
    }
    let mut taken = BTreeSet::new();
    let mut drafts = Vec::new();
    let mut skipped = Vec::new();
    for (i, rule) in config.rules.iter().enumerate() {
        if last.get(rule.id.as_str()) != Some(&i) {
            skipped.push(skip(rule, "overridden by a later rule with the same id"));
            continue;
        }
        match convert_rule(rule, &global, opts, &mut taken) {
            Ok(d) => drafts.push(d),
            Err(reason) => skipped.push(skip(rule, &reason)),
        }
    }
    Ok(finish(Outcome {
        category: "secret",
        tool: "gitleaks",
        drafts,
        skipped,
        notes,
    })?)
}

fn skip(rule: &Rule, reason: &str) -> Skipped {
    Skipped {
        rule: rule.id.clone(),
        reason: reason.to_owned(),
    }
}

fn convert_rule(
    rule: &Rule,
    global: &[(Vec<String>, AllowSet)],
    opts: &ImportOptions,
    taken: &mut BTreeSet<String>,
) -> Result<Draft, String> {
    if rule.skip_report {
        return Err("skipReport: only a component of composite rules".into());
    }
    let Some(regex) = rule.regex.as_deref().filter(|r| !r.is_empty()) else {
        return Err(if rule.path.is_some() {
            "path-only rule: Sluice scans text, not file names".into()
        } else {
            "no regex".into()
        });
    };
    let mut losses = Vec::new();
    // `secretGroup = 0` is gitleaks' "unset".
    let choice = match rule.secret_group {
        Some(g) if g > 0 => GroupChoice::Index(g),
        _ => GroupChoice::FirstNonEmpty,
    };
    let t = pattern::translate(regex, Dialect::Go, choice, opts.max_repeat)
        .map_err(|e| format!("regex not supported by Sluice: {}", e.0))?;
    if let Some(cap) = t.capped {
        losses.push(Loss::RepetitionCapped(cap));
    }
    if t.group == GroupOutcome::Widened {
        losses.push(Loss::WholeMatch);
    }
    if rule.path.is_some() {
        losses.push(Loss::PathIgnored);
    }
    if rule.required.is_some() {
        losses.push(Loss::RequiredIgnored);
    }
    for name in rule.other.keys() {
        losses.push(Loss::FieldIgnored(name.clone()));
    }

    let id = unique(format!("gitleaks.{}", id_part(&rule.id)), taken);
    let family = id_part(&rule.id)
        .split(['-', '_'])
        .next()
        .map_or_else(|| "rule".to_owned(), str::to_owned);
    let mut det = DetectorOut {
        id,
        entity: entity_name(&rule.id),
        description: rule.description.clone().filter(|d| !d.trim().is_empty()),
        pattern: Some(t.pattern.clone()),
        secret_group: t.group == GroupOutcome::Secret,
        min_entropy: rule.entropy.filter(|e| e.is_finite() && *e > 0.0),
        // gitleaks reports every rule that matches; Sluice keeps one finding per span, and
        // the catch-all rules should not take a span from the provider's own rule.
        priority: rule.id.starts_with("generic").then_some(GENERIC_PRIORITY),
        ..DetectorOut::default()
    };

    let keywords: Vec<String> = rule
        .keywords
        .iter()
        .map(|k| k.to_ascii_lowercase())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let usable = !keywords.is_empty() && keywords.iter().all(|k| !k.is_empty() && k.is_ascii());
    if usable && t.always_contains(&keywords) {
        det.prefilter = keywords;
    } else if usable {
        // gitleaks looks for a keyword anywhere in the fragment; the nearest Sluice has is a
        // required context word in the widest window.
        const WINDOW: usize = 256;
        det.context = keywords;
        det.context_required = true;
        det.context_window = Some(WINDOW);
        det.context_boost = Some(0.0);
        losses.push(Loss::KeywordsAsContext(WINDOW));
    } else if !rule.keywords.is_empty() {
        losses.push(Loss::KeywordsDropped);
    }

    // Allow-lists: the rule's own, then the global ones that apply to it.
    let mut dropped: BTreeSet<&'static str> = BTreeSet::new();
    let own: Vec<AllowSet> = rule
        .allowlist
        .iter()
        .chain(&rule.allowlists)
        .map(convert_allowlist)
        .collect();
    let applicable = own.iter().chain(
        global
            .iter()
            .filter(|(targets, _)| targets.is_empty() || targets.contains(&rule.id))
            .map(|(_, c)| c),
    );
    let mut allows = Vec::new();
    for (n, c) in applicable.enumerate() {
        if n < own.len() {
            dropped.extend(&c.dropped);
        }
        for a in &c.allows {
            // Sluice tests allow patterns against the finding: the secret when the pattern
            // has a secret group, else the whole match.
            let finding_is = match t.group {
                GroupOutcome::Secret => Target::Secret,
                GroupOutcome::WholeMatch => {
                    allows.push(a.pattern.clone());
                    continue;
                }
                GroupOutcome::Widened => Target::Match,
            };
            if a.target == finding_is {
                allows.push(a.pattern.clone());
            } else if a.target == Target::Match {
                dropped.insert("regexTarget = \"match\" on a rule with a secret group");
            } else {
                dropped.insert("tested on the secret, but the finding is the whole match");
            }
        }
    }
    let mut seen = BTreeSet::new();
    allows.retain(|p| seen.insert(p.clone()));
    det.allow_patterns = allows;
    losses.extend(dropped.into_iter().map(Loss::AllowlistDropped));

    Ok(Draft {
        rule: rule.id.clone(),
        file: format!("{family}.toml"),
        detector: det,
        losses,
    })
}

fn convert_allowlist(list: &Allowlist) -> AllowSet {
    let mut out = AllowSet::default();
    let and = list
        .condition
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("and"));
    let kinds = [
        !list.regexes.is_empty(),
        !list.stopwords.is_empty(),
        !list.paths.is_empty(),
        !list.commits.is_empty(),
    ];
    if and && kinds.iter().filter(|k| **k).count() > 1 {
        // Every condition must hold together: Sluice allow patterns are alternatives.
        out.dropped
            .insert("condition = \"AND\" of several conditions");
        return out;
    }
    if !list.paths.is_empty() {
        out.dropped.insert("paths");
    }
    if !list.commits.is_empty() {
        out.dropped.insert("commits");
    }
    if !list.regexes.is_empty() {
        let target = match list.regex_target.as_deref() {
            None | Some("") | Some("secret") => Some(Target::Secret),
            Some("match") => Some(Target::Match),
            Some("line") => {
                out.dropped.insert("regexTarget = \"line\"");
                None
            }
            Some(_) => {
                out.dropped.insert("unknown regexTarget");
                None
            }
        };
        if let Some(target) = target {
            let mut ok = Vec::new();
            for r in &list.regexes {
                match pattern::translate_allow(r, Dialect::Go) {
                    Ok(p) => ok.push(p),
                    Err(_) => {
                        out.dropped.insert("regexes Sluice cannot compile");
                    }
                }
            }
            if !ok.is_empty() {
                let pattern = if ok.len() == 1 {
                    ok.remove(0)
                } else {
                    ok.iter()
                        .map(|p| format!("(?:{p})"))
                        .collect::<Vec<_>>()
                        .join("|")
                };
                out.allows.push(Allow { target, pattern });
            }
        }
    }
    let words: Vec<String> = list
        .stopwords
        .iter()
        .filter(|w| !w.is_empty())
        .cloned()
        .collect();
    if !words.is_empty() {
        // gitleaks: the secret contains a stop word, ignoring case.
        out.allows.push(Allow {
            target: Target::Secret,
            pattern: pattern::any_of(&words),
        });
    }
    out
}
