//! Policy hot reload: a filesystem watcher on the policy folder. Changes are debounced
//! (200 ms of quiet), then the whole set is read and validated; a valid set replaces the
//! active one atomically, an invalid one is rejected and the last good set keeps working
//! (see [`AppState::reload_policy`]). Requests in flight finish on the set they started
//! with.

use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use crate::ServerError;
use crate::state::AppState;

/// Quiet time after the last change before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches the policy folder while it lives.
pub struct PolicyWatcher {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `state`'s policy folder. Must be called inside a tokio runtime.
pub fn watch_policies(state: &AppState) -> Result<PolicyWatcher, ServerError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && !matches!(ev.kind, EventKind::Access(_))
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| ServerError::Io(format!("policy watcher: {e}")))?;
    let dir = state.config().policy.dir.clone();
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .map_err(|e| ServerError::Io(format!("watching {}: {e}", dir.display())))?;
    let state = state.clone();
    let task = tokio::spawn(async move {
        while rx.recv().await.is_some() {
            loop {
                match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            // Errors are logged, counted and shown by GET /v1/admin/policies.
            let _ = state.reload_policy().await;
        }
    });
    Ok(PolicyWatcher {
        _watcher: watcher,
        task,
    })
}
