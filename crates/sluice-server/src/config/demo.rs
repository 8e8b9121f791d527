//! Config text the gateway writes itself: the demo config of `make run`
//! (`sluice serve --init-demo`) and the `[[principal]]` block `sluice keys new` prints. Both
//! are built as the file form and serialised with `toml::to_string`, so every path, id and
//! collection name is quoted by the TOML serialiser — a data directory holding a quote, a
//! backslash or a newline cannot break the file or inject a key into it.

use std::path::Path;

use serde::Serialize;

use super::file::{
    AnswerFile, FileConfig, LimitsFile, LlmFile, ModelsFile, PolicyFile, PrincipalFile, unspanned,
};
use super::{
    ConfigError, DEFAULT_BODY_BYTES, DEFAULT_LISTEN, DEFAULT_RATE_LIMIT, DEFAULT_REQUEST_TIMEOUT_S,
    Role, ServerConfig,
};

/// Comments go above the serialised body: the serialiser writes values, not comments.
const HEADER: &str = "\
# Sluice gateway demo config (written by `make run`). Keys are stored as SHA-256 hashes.
#
# [answer]: on a CPU the model reads every source token before it answers (~20 ms each for
# SmolLM2-135M on two cores): three sources and short answers keep a demo under ~20 s.

";

/// The demo's principals: `(id, roles, collections)`; `"*"` is every collection.
const DEMO_PRINCIPALS: [(&str, &[Role], &[&str]); 4] = [
    ("reader", &[Role::Reader], &["*"]),
    ("ingester", &[Role::Ingester], &["*"]),
    ("auditor", &[Role::Auditor], &[]),
    (
        "admin",
        &[Role::Admin, Role::Reader, Role::Ingester],
        &["*"],
    ),
];

/// Where the demo config points; all absolute, so the file works from any directory.
struct DemoPaths<'a> {
    data_dir: &'a Path,
    models: &'a Path,
    policies: &'a Path,
}

/// Writes a demo config for `make run`: data under `data_dir`, policies from `./policies`,
/// models from `$SLUICE_MODELS` (else `./models`), the local SmolLM2 model, and four
/// principals with fresh keys — `reader` (reader, all collections), `ingester` (ingester, all
/// collections), `auditor` (auditor) and `admin` (admin, reader, ingester; all collections).
/// Only the keys' hashes are written; the plaintext keys are returned once, as
/// `(principal, key)`. Refuses to overwrite an existing file.
pub fn write_demo_config(
    path: &Path,
    data_dir: &Path,
) -> Result<Vec<(String, String)>, ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let cwd = std::env::current_dir().map_err(io)?;
    let models = std::path::absolute(sluice_embed::models_root()).map_err(io)?;
    let data_dir = std::path::absolute(data_dir).map_err(io)?;
    let policies = cwd.join("policies");
    let paths = DemoPaths {
        data_dir: &data_dir,
        models: &models,
        policies: &policies,
    };
    let mut keys = Vec::new();
    let mut hashes = Vec::new();
    for (id, _, _) in DEMO_PRINCIPALS {
        let (key, hash) = crate::keys::new_api_key();
        keys.push((id.to_owned(), key));
        hashes.push(hash);
    }
    let text = demo_text(&demo_file(&paths, &hashes)).map_err(|e| {
        // Only a path that is not UTF-8 gets here: TOML strings are UTF-8.
        io(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })?;
    // Validate what we write, so a demo config can never be one the server refuses.
    ServerConfig::from_toml(path, &text)?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    Ok(keys)
}

/// The demo config as the file form; `hashes[i]` is the key hash of `DEMO_PRINCIPALS[i]`.
fn demo_file(paths: &DemoPaths<'_>, hashes: &[String]) -> FileConfig {
    FileConfig {
        version: unspanned(1),
        listen: Some(unspanned(DEFAULT_LISTEN.to_owned())),
        data_dir: unspanned(paths.data_dir.to_path_buf()),
        index_uri: None,
        models: ModelsFile {
            embedding: paths.models.join("all-MiniLM-L6-v2"),
            embed_threads: None,
            embed_precision: None,
            llm: unspanned(LlmFile {
                gguf: Some(sluice_llm::default_model(paths.models)),
                upstream: None,
                echo: None,
                context_length: None,
            }),
        },
        policy: PolicyFile {
            dir: paths.policies.to_path_buf(),
            watch: true,
            pseudonym_key_file: None,
        },
        audit: Default::default(),
        limits: LimitsFile {
            body_bytes: Some(unspanned(DEFAULT_BODY_BYTES)),
            request_timeout_s: Some(unspanned(DEFAULT_REQUEST_TIMEOUT_S)),
            model_concurrency: None,
            model_queue: Some(8),
            rate_limit_rps: Some(unspanned(DEFAULT_RATE_LIMIT.per_second)),
            rate_limit_burst: Some(unspanned(DEFAULT_RATE_LIMIT.burst)),
        },
        answer: AnswerFile {
            k: Some(unspanned(3)),
            max_tokens: Some(unspanned(128)),
            mode: None,
            // A demo with the model queue full still answers, with the cited passages.
            on_busy: Some(sluice_rag::OnBusy::Extractive),
            context_sentences: None,
        },
        principals: DEMO_PRINCIPALS
            .iter()
            .zip(hashes)
            .map(|((id, roles, collections), hash)| {
                let collections: Vec<String> =
                    collections.iter().map(|c| (*c).to_owned()).collect();
                unspanned(principal_file(id, hash, roles, &collections))
            })
            .collect(),
    }
}

fn demo_text(file: &FileConfig) -> Result<String, toml::ser::Error> {
    Ok(format!("{HEADER}{}", toml::to_string(file)?))
}

/// One principal in the file form.
fn principal_file(
    id: &str,
    key_sha256: &str,
    roles: &[Role],
    collections: &[String],
) -> PrincipalFile {
    PrincipalFile {
        id: unspanned(id.to_owned()),
        key_sha256: unspanned(key_sha256.to_owned()),
        roles: roles
            .iter()
            .map(|r| unspanned(r.as_str().to_owned()))
            .collect(),
        collections: collections.iter().map(|c| unspanned(c.clone())).collect(),
    }
}

/// A file holding just `[[principal]]` blocks, for serialising one on its own.
#[derive(Serialize)]
struct PrincipalBlocks<'a> {
    principal: &'a [PrincipalFile],
}

/// The `[[principal]]` block for a config file (what `sluice keys new` prints; see
/// [`crate::keys::principal_toml`]).
pub(crate) fn principal_block(
    id: &str,
    key_sha256: &str,
    roles: &[Role],
    collections: &[String],
) -> String {
    let p = principal_file(id, key_sha256, roles, collections);
    toml::to_string(&PrincipalBlocks {
        principal: std::slice::from_ref(&p),
    })
    // A struct of strings and arrays of strings always has a TOML form: the serialiser
    // fails only on types TOML lacks (bytes, non-UTF-8 paths, `None` in an array).
    .expect("a principal block is strings and arrays of strings")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde::Deserialize;

    use super::*;
    use crate::authz::{Grants, Principal};

    /// What the demo's principals must load as (roles sorted, `"*"` as every collection).
    fn expected_principals() -> Vec<(String, Vec<Role>, Grants)> {
        vec![
            ("reader".into(), vec![Role::Reader], Grants::All),
            ("ingester".into(), vec![Role::Ingester], Grants::All),
            (
                "auditor".into(),
                vec![Role::Auditor],
                Grants::Only(Vec::new()),
            ),
            (
                "admin".into(),
                vec![Role::Reader, Role::Ingester, Role::Admin],
                Grants::All,
            ),
        ]
    }

    fn summary(ps: &[Principal]) -> Vec<(String, Vec<Role>, Grants)> {
        ps.iter()
            .map(|p| (p.id.clone(), p.roles.clone(), p.grants.clone()))
            .collect()
    }

    #[test]
    fn demo_config_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        let keys = write_demo_config(&path, &dir.path().join("data")).unwrap();
        assert_eq!(keys.len(), 4);
        let c = ServerConfig::load(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for (id, key) in &keys {
            assert!(!text.contains(key.as_str()));
            let p = c
                .principal_by_hash(&crate::keys::hash_api_key(key))
                .unwrap();
            assert_eq!(&p.id, id);
        }
        assert_eq!(summary(&c.principals), expected_principals());
        assert_eq!((c.answer.k, c.answer.max_tokens), (3, 128));
        assert_eq!(c.limits.rate_limit, Some(DEFAULT_RATE_LIMIT));
        assert!(text.starts_with("# Sluice gateway demo config"), "{text}");
        assert!(
            write_demo_config(&path, dir.path()).is_err(),
            "no overwrite"
        );
    }

    /// The text written for the file form loads as the config that file form builds to,
    /// with paths that need every kind of TOML escaping.
    #[test]
    fn demo_text_loads_as_the_file_form_it_was_written_from() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir
            .path()
            .join("a \"quoted\" dir\\with\nnewline 'and' tab\t");
        let (models, policies) = (odd.join("models"), odd.join("policies"));
        let paths = DemoPaths {
            data_dir: &odd,
            models: &models,
            policies: &policies,
        };
        let hashes: Vec<String> = (0..4).map(|i| format!("{i}").repeat(64)).collect();
        let text = demo_text(&demo_file(&paths, &hashes)).unwrap();
        let config_path = dir.path().join("sluice.toml");
        let loaded =
            ServerConfig::from_toml(&config_path, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let built =
            crate::config::build::validate_and_build(demo_file(&paths, &hashes), dir.path())
                .unwrap();
        assert_eq!(loaded.source.as_deref(), Some(config_path.as_path()));
        assert_eq!(
            ServerConfig {
                source: Some(config_path),
                ..built
            },
            loaded
        );
        assert_eq!(loaded.data_dir, odd);
        assert_eq!(loaded.policy.dir, policies);
        assert_eq!(loaded.models.embedding, models.join("all-MiniLM-L6-v2"));
        assert_eq!(summary(&loaded.principals), expected_principals());
        let hashes_loaded: Vec<&str> = loaded
            .principals
            .iter()
            .map(|p| p.key_sha256.as_str())
            .collect();
        assert_eq!(
            hashes_loaded,
            hashes.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    #[test]
    fn principal_block_quotes_what_needs_quoting() {
        #[derive(Deserialize)]
        struct Blocks {
            principal: Vec<PrincipalFile>,
        }
        let odd = "id \"with\" quotes\\backslash\nnewline";
        let text = principal_block(
            odd,
            &"ab".repeat(32),
            &[Role::Reader, Role::Ingester],
            &["handbook".into(), "x\"y".into()],
        );
        assert!(text.starts_with("[[principal]]\n"), "{text}");
        assert!(
            text.contains("roles = [\"reader\", \"ingester\"]"),
            "{text}"
        );
        let back: Blocks = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let p = &back.principal[0];
        assert_eq!(p.id.get_ref(), odd);
        assert_eq!(p.key_sha256.get_ref(), &"ab".repeat(32));
        let collections: Vec<&str> = p.collections.iter().map(|c| c.get_ref().as_str()).collect();
        assert_eq!(collections, ["handbook", "x\"y"]);
    }
}
