//! Policy administration (`/v1/admin/policies…`, admin role): status and reload.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::config::Role;
use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;

/// `GET /v1/admin/policies`: version, load time, files, last reload error.
pub(crate) async fn policies(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(state.policy_status()).into_response())
}

/// `POST /v1/admin/policies/reload`: reload now; 422 with the diagnostics when the set is
/// invalid (the active set stays).
pub(crate) async fn reload(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    match state.reload_policy().await {
        Ok(st) => Ok(Json(st).into_response()),
        Err(e) => Err(ApiError::Unprocessable {
            code: "policy_invalid",
            message: format!(
                "{}; the active policy set stays in place: {}",
                e.message,
                e.diagnostics.join("; ")
            ),
        }),
    }
}
