//! What `make run` does, through the real binary: ingest, `sluice serve --init-demo` (demo
//! config written once, keys printed once and stored hashed), the `Sluice ready on …` line,
//! and the printed curl command run as printed against the real server on loopback.
//! Also `sluice keys new` / `keys hash`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sluice(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.arg("--data-dir")
        .arg(data)
        .current_dir(repo())
        .env("SLUICE_EMBED_THREADS", "2")
        .env_remove("SLUICE_PSEUDONYM_KEY")
        .env_remove("SLUICE_CONFIG");
    c
}

/// Kills the server if an assertion fails first.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sluice serve` and returns it with every stderr line up to the curl example.
fn start(data: &Path) -> (Server, Vec<String>) {
    let mut child = sluice(data)
        .args(["serve", "--init-demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let server = Server(child);
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("no curl line from sluice serve ({e}): {lines:#?}"));
        let done = line.trim_start().starts_with("try: curl");
        lines.push(line);
        if done {
            return (server, lines);
        }
    }
}

#[test]
fn serve_prints_a_working_curl_and_keys_only_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let docs = tmp.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(
        repo().join("corpora/runbooks/database-failover.md"),
        docs.join("database-failover.md"),
    )
    .unwrap();
    let out = sluice(&data)
        .args(["ingest"])
        .arg(&docs)
        .args(["--collection", "demo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (mut server, lines) = start(&data);
    let all = lines.join("\n");
    let ready = lines
        .iter()
        .find_map(|l| l.strip_prefix("Sluice ready on "))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(ready.starts_with("http://127.0.0.1:"), "{ready}");
    // Four demo keys, printed once, stored only as hashes.
    let keys: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|w| w.starts_with("sluice_") && w.len() == 39)
        .collect();
    assert_eq!(keys.len(), 4, "{all}");
    let config = std::fs::read_to_string(data.join("sluice.toml")).unwrap();
    for k in &keys {
        assert!(!config.contains(k), "a plaintext key is in the config");
        assert!(config.contains(&sluice_server::hash_api_key(k)));
    }

    // The printed curl, run as printed.
    let curl = lines
        .last()
        .unwrap()
        .trim_start()
        .strip_prefix("try: ")
        .unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{curl} -w '\\n%{{http_code}}'"))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    let (json, status) = body.rsplit_once('\n').unwrap();
    assert_eq!(status, "200", "{body}");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(!v["answer"].as_str().unwrap().is_empty(), "{v:#}");
    let cited = v["citations"].as_array().unwrap();
    assert!(
        cited
            .iter()
            .any(|c| c["source_path"] == "database-failover.md"),
        "{v:#}"
    );

    // SIGTERM: a clean stop.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // Second start: the config is kept, no key is printed, the curl names $SLUICE_KEY.
    let (_server, lines) = start(&data);
    let all = lines.join("\n");
    assert!(!all.contains("sluice_"), "{all}");
    assert!(all.contains("$SLUICE_KEY"), "{all}");
}

#[test]
fn keys_new_prints_a_key_once_and_a_block_with_its_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sluice(tmp.path())
        .args([
            "keys",
            "new",
            "--principal",
            "support-bot",
            "--role",
            "reader,ingester",
            "--collections",
            "handbook,support",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text
        .lines()
        .find(|l| l.starts_with("sluice_"))
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 39);
    assert!(key[7..].bytes().all(|b| b.is_ascii_alphanumeric()));
    let hash = sluice_server::hash_api_key(&key);
    assert!(text.contains(&format!("key_sha256 = \"{hash}\"")), "{text}");
    assert!(
        text.contains("roles = [\"reader\", \"ingester\"]"),
        "{text}"
    );
    assert!(
        text.contains("collections = [\"handbook\", \"support\"]"),
        "{text}"
    );

    // `keys hash` gives the same hash for a key on stdin; garbage is refused without echo.
    let keys_hash = |line: &str| {
        let mut child = sluice(tmp.path())
            .args(["keys", "hash"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{line}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = keys_hash(&key);
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), hash);
    let out = keys_hash("hunter2-not-a-key");
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}
