//! Test fixtures: the real embedder and one LanceDB index with the sample corpus in two
//! collections (loaded once per test binary), and gateways bound on 127.0.0.1:0 that share
//! them, each with its own audit log, policy folder, limits and generator.
//!
//! Everything async of the servers runs on one static runtime that outlives every test;
//! tests are plain `#[test]` functions that drive a reqwest client with [`block_on`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sluice_audit::{AuditConfig, AuditLog, AuditSigningKey, HmacKey};
use sluice_embed::{BertEmbedder, EmbedConfig, Embedder};
use sluice_index::{ChunkIndex, IndexConfig};
use sluice_llm::{EchoGenerator, Generator, QueuedGenerator};
use sluice_policy::{PseudonymKey, Redactor};
use sluice_rag::{IngestOptions, Ingestor};
use sluice_server::{AppParts, AppState, ServerConfig};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn models_dir() -> PathBuf {
    match std::env::var_os("SLUICE_MODELS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo().join("models"),
    }
}

/// Every log line the gateway wrote in this test process (JSON, as `sluice serve` writes to
/// stdout), for the canary suite to scan. Installed with the runtime, before any server.
pub fn logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: OnceLock<std::sync::Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logs()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The runtime every server and the shared index live on.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // The gateway's own filter, one level more verbose for Sluice's crates.
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter(sluice_server::silence_document_loggers(
                tracing_subscriber::EnvFilter::new(
                    "info,sluice_server=debug,sluice_rag=debug,sluice_audit=debug,lance=warn,lancedb=warn,mistralrs_core=warn",
                ),
            ))
            .with_writer(|| LogSink)
            .try_init();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// A temporary directory under `$TMPDIR/sluice-server-it/<pid>/`. Fixtures held in statics
/// are never dropped, so each run first removes the folders of runs that are gone.
pub fn tempdir() -> tempfile::TempDir {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let base = std::env::temp_dir().join("sluice-server-it");
        for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !Path::new("/proc").join(&pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let root = base.join(std::process::id().to_string());
        std::fs::create_dir_all(&root).expect("test temp root");
        root
    });
    tempfile::tempdir_in(root).expect("tempdir")
}

/// Runs a client future on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
        .block_on(f)
}

/// Collections of the fixture and the corpus folders in each.
pub const COLLECTIONS: &[(&str, &[&str])] = &[
    ("handbook", &["handbook", "hr", "finance", "legal"]),
    (
        "engineering",
        &[
            "engineering",
            "runbooks",
            "config",
            "incidents",
            "meetings",
            "product",
            "support",
        ],
    ),
];

pub struct Shared {
    pub embedder: Arc<dyn Embedder>,
    pub index: Arc<ChunkIndex>,
    pub index_dir: tempfile::TempDir,
    /// collection → doc ids ingested there.
    pub docs: BTreeMap<String, Vec<String>>,
}

/// The embedder and the ingested index, once per test binary.
pub fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let emb = BertEmbedder::load(
            &models_dir().join("all-MiniLM-L6-v2"),
            &EmbedConfig::default(),
        )
        .expect("embedding model (run `make models`)");
        let embedder: Arc<dyn Embedder> = Arc::new(emb);
        let index_dir = tempdir();
        let uri = index_dir.path().display().to_string();
        let dim = embedder.dim();
        let index = rt()
            .block_on(ChunkIndex::open(IndexConfig::new(uri, dim)))
            .expect("index");
        let index = Arc::new(index);
        let redactor = default_redactor();
        let ingestor = Ingestor::new(
            redactor,
            embedder.clone(),
            index.clone(),
            IngestOptions::default(),
        );
        let mut docs = BTreeMap::new();
        for (collection, folders) in COLLECTIONS {
            let inputs: Vec<PathBuf> = folders
                .iter()
                .map(|f| repo().join("corpora").join(f))
                .collect();
            let (files, failures, _) = sluice_rag::discover(&inputs);
            assert!(failures.is_empty(), "discover failures");
            let name = sluice_index::CollectionName::new(*collection).expect("valid name");
            let reports = rt().block_on(ingestor.ingest_files(&name, &files, &()));
            let mut ids = Vec::new();
            for r in reports {
                assert!(r.outcome.is_ok(), "{}: {:?}", r.source_path, r.outcome);
                ids.push(r.doc_id);
            }
            docs.insert((*collection).to_owned(), ids);
        }
        Shared {
            embedder,
            index,
            index_dir,
            docs,
        }
    })
}

pub fn default_redactor() -> Redactor {
    let policy = sluice_rag::policy_files::load_dir(&repo().join("policies"))
        .expect("read policies")
        .expect("valid policies");
    Redactor::new(
        Arc::new(policy),
        PseudonymKey::new(b"test pseudonym key".to_vec()),
    )
}

/// Principals every test server has: name → (roles, collections).
pub const PRINCIPALS: &[(&str, &str, &str)] = &[
    ("reader_hb", "\"reader\"", "\"handbook\""),
    ("reader_all", "\"reader\"", "\"*\""),
    ("ingester_hb", "\"ingester\"", "\"handbook\""),
    ("ingester_all", "\"ingester\"", "\"*\""),
    ("auditor", "\"auditor\"", ""),
    ("admin", "\"admin\"", ""),
];

#[derive(Clone)]
pub enum Gen {
    /// Echoes the model's user turn (sources + question): what reached the model comes back.
    Echo,
    /// Echo with a delay per 3-byte piece.
    SlowEcho(Duration),
    /// The real SmolLM2 (loaded once).
    Real,
}

pub struct Opts {
    pub generator: Gen,
    /// Extra TOML for `[limits]`.
    pub limits: String,
    /// Rewrites `policies/sluice.toml` in the server's own policy copy.
    pub policy_root: Option<String>,
    pub watch: bool,
    pub model_concurrency: usize,
    pub model_queue: usize,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            generator: Gen::Echo,
            limits: String::new(),
            policy_root: None,
            watch: false,
            model_concurrency: 1,
            model_queue: 64,
        }
    }
}

pub struct Server {
    pub url: String,
    pub keys: BTreeMap<String, String>,
    pub state: AppState,
    pub audit_dir: PathBuf,
    pub policy_dir: PathBuf,
    _dirs: tempfile::TempDir,
    _watcher: Option<sluice_server::PolicyWatcher>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

pub fn real_model() -> Arc<dyn Generator> {
    static G: OnceLock<Arc<dyn Generator>> = OnceLock::new();
    G.get_or_init(|| {
        let path = models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf");
        let g = rt()
            .block_on(sluice_llm::MistralRsGenerator::load(
                sluice_llm::LocalModelConfig::new(path),
            ))
            .expect("SmolLM2 (run `make models`)");
        Arc::new(g)
    })
    .clone()
}

impl Server {
    pub fn start(opts: Opts) -> Server {
        let sh = shared();
        let dirs = tempdir();
        let policy_dir = dirs.path().join("policies");
        copy_dir(&repo().join("policies"), &policy_dir);
        if let Some(root) = &opts.policy_root {
            std::fs::write(policy_dir.join("sluice.toml"), root).expect("write root");
        }
        let mut keys = BTreeMap::new();
        let mut toml = format!(
            "version = 1\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n\
             [models]\nembedding = \"{}\"\nllm = {{ echo = true }}\n\
             [policy]\ndir = \"policies\"\nwatch = {}\n\
             [limits]\nmodel_concurrency = {}\nmodel_queue = {}\n{}\n",
            models_dir().join("all-MiniLM-L6-v2").display(),
            opts.watch,
            opts.model_concurrency,
            opts.model_queue,
            if opts.limits.is_empty() {
                "rate_limit_rps = 0".to_owned()
            } else {
                opts.limits.clone()
            },
        );
        for (id, roles, cols) in PRINCIPALS {
            let (key, hash) = sluice_server::new_api_key();
            toml.push_str(&format!(
                "[[principal]]\nid = \"{id}\"\nkey_sha256 = \"{hash}\"\nroles = [{roles}]\ncollections = [{cols}]\n"
            ));
            keys.insert((*id).to_owned(), key);
        }
        let cfg_path = dirs.path().join("sluice.toml");
        std::fs::write(&cfg_path, &toml).expect("write config");
        let config = ServerConfig::load(&cfg_path).expect("test config is valid");
        let audit_dir = config.audit.dir.clone();
        let signing = AuditSigningKey::generate();
        let public = signing.public_hex();
        let audit = AuditLog::open(AuditConfig::new(&audit_dir, signing)).expect("audit log");
        let policy = sluice_rag::policy_files::load_dir(&policy_dir)
            .expect("read policies")
            .expect("valid policies");
        let files = sluice_rag::policy_files::read_sources(&policy_dir)
            .expect("sources")
            .into_iter()
            .map(|s| s.path)
            .collect();
        let inner: Arc<dyn Generator> = match &opts.generator {
            Gen::Echo => Arc::new(EchoGenerator::new()),
            Gen::SlowEcho(d) => Arc::new(EchoGenerator::new().with_delay(*d)),
            Gen::Real => real_model(),
        };
        let queue = Arc::new(QueuedGenerator::new(
            inner,
            opts.model_concurrency,
            opts.model_queue,
        ));
        let state = AppState::new(AppParts {
            config,
            embedder: sh.embedder.clone(),
            retriever: sh.index.clone(),
            store: sh.index.clone(),
            generator: queue.clone(),
            queue: Some(queue),
            policy: Arc::new(policy),
            policy_files: files,
            pseudonym_key: PseudonymKey::new(b"test pseudonym key".to_vec()),
            audit,
            audit_public_key: Some(public),
            hmac_key: HmacKey::new(b"test hmac key, 32 bytes long....".to_vec()),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let (addr, watcher) = rt().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let watcher = if opts.watch {
                Some(sluice_server::watch_policies(&st).expect("watch"))
            } else {
                None
            };
            tokio::spawn(sluice_server::serve_on(listener, st, async move {
                let _ = stopped.await;
            }));
            (addr, watcher)
        });
        Server {
            url: format!("http://{addr}"),
            keys,
            state,
            audit_dir,
            policy_dir,
            _dirs: dirs,
            _watcher: watcher,
            _stop: stop,
        }
    }

    pub fn key(&self, who: &str) -> &str {
        &self.keys[who]
    }

    /// The audit record of a request id (after the index caught up). Records of 401 and 429
    /// refusals join the next group commit without the response waiting for them, so a
    /// missing record is looked for again for up to two seconds.
    pub fn record(&self, id: &str) -> Option<sluice_audit::Record> {
        for _ in 0..40 {
            // sync_index blocks: keep it off the caller's runtime thread.
            let log = self.state.audit().clone();
            let id = id.to_owned();
            let found = std::thread::spawn(move || {
                log.sync_index().expect("sync index");
                log.get(&id).expect("get")
            })
            .join()
            .expect("audit lookup thread");
            if found.is_some() {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// The shared echo server (most tests).
pub fn echo_server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| Server::start(Opts::default()))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

/// One response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn request_id(&self) -> String {
        self.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("x-request-id header")
            .to_owned()
    }

    /// Asserts the error shape and returns the code.
    pub fn error_code(&self) -> String {
        let v = self.json();
        let e = &v["error"];
        assert!(e["message"].is_string(), "error.message: {v}");
        assert_eq!(
            e["request_id"].as_str(),
            Some(self.request_id().as_str()),
            "error.request_id = x-request-id"
        );
        assert!(
            self.headers.contains_key("x-sluice-policy"),
            "x-sluice-policy header"
        );
        e["code"].as_str().expect("error.code").to_owned()
    }

    /// `data:` payloads of an SSE body.
    pub fn sse_data(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|l| l.trim_start().to_owned())
            .collect()
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("body").to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

impl Server {
    pub async fn post(&self, who: Option<&str>, path: &str, body: &Value) -> Resp {
        let mut r = client().post(format!("{}{path}", self.url)).json(body);
        if let Some(w) = who {
            r = r.bearer_auth(self.key(w));
        }
        send(r).await
    }

    pub async fn get(&self, who: Option<&str>, path: &str) -> Resp {
        let mut r = client().get(format!("{}{path}", self.url));
        if let Some(w) = who {
            r = r.bearer_auth(self.key(w));
        }
        send(r).await
    }

    pub async fn delete(&self, who: Option<&str>, path: &str) -> Resp {
        let mut r = client().delete(format!("{}{path}", self.url));
        if let Some(w) = who {
            r = r.bearer_auth(self.key(w));
        }
        send(r).await
    }
}

#[derive(serde::Deserialize)]
pub struct Manifest {
    pub planted: Vec<Planted>,
}

#[derive(serde::Deserialize)]
pub struct Planted {
    pub file: String,
    pub entity: String,
    pub value: String,
}

pub fn manifest() -> Manifest {
    let text = std::fs::read_to_string(repo().join("corpora/MANIFEST.toml")).expect("manifest");
    toml::from_str(&text).expect("manifest parses")
}

/// The planted values found in `bytes` (as "ENTITY in file", never the value).
pub fn leaks(bytes: &[u8], m: &Manifest) -> Vec<String> {
    m.planted
        .iter()
        .filter(|p| contains(bytes, p.value.as_bytes()))
        .map(|p| format!("{} from {}", p.entity, p.file))
        .collect()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, read whole.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    walk(dir, &mut out);
    out
}

/// The shared check of the adversarial suite: `r` left exactly one audit record (its id is
/// the response's request id, and no other record carries it) and no planted value of the
/// corpus manifest, nor any of `extra`, appears in the body, the SSE events, the gateway's
/// log lines or any audit file.
pub fn assert_one_record_no_leak(s: &Server, r: &Resp, extra: &[&str]) {
    let id = r.request_id();
    assert!(s.record(&id).is_some(), "no audit record for {id}");
    let log = s.state.audit().clone();
    let q = sluice_audit::AuditQuery::default();
    let page = sluice_audit::Page {
        limit: 10_000,
        ..sluice_audit::Page::default()
    };
    let all = std::thread::spawn(move || log.query(&q, &page).expect("query"))
        .join()
        .expect("audit thread");
    let n = all.records.iter().filter(|x| x.id.as_str() == id).count();
    assert_eq!(n, 1, "records with id {id}");
    let m = manifest();
    let logs = logs()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut places: Vec<(String, Vec<u8>)> =
        vec![("body".into(), r.body.clone()), ("logs".into(), logs)];
    for (p, b) in all_files(&s.audit_dir) {
        places.push((p.display().to_string(), b));
    }
    for (place, bytes) in &places {
        let found = leaks(bytes, &m);
        assert!(found.is_empty(), "{place}: {found:?}");
        for x in extra {
            assert!(
                !contains(bytes, x.as_bytes()),
                "{place} holds a planted test value"
            );
        }
    }
}
