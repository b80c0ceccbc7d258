//! Owner accounts: sign-up, log-in (short-lived JWT access token + rotating refresh token),
//! log-out, invitations for technicians, password reset, and the [`Tenant`] extractor every owner route uses.
//! The business comes only from the verified token, and each request's queries run in a
//! transaction as the `nmc_app` role with the tenant set, so PostgreSQL's row-level security
//! is a second wall behind the store's tenant argument.

mod accounts;
pub(crate) mod cookies;
mod extractor;
mod limits;
mod mailer;
mod passwords;
mod reset;
mod team;
pub(crate) mod tokens;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub use accounts::{SignUpBody, authenticate, create_account, join};
pub use cookies::{cookie, cookie_session};
pub use extractor::Tenant;
pub use limits::{ClientAddr, LoginLimiter, client_address};
pub use mailer::Mailer;
pub use passwords::hash_password;
pub use reset::{BAD_RESET, RESET_SENT, link_is_open, reset, send_reset_link};
pub use team::{InviteBody, invite, list_team, remove_member};
pub(crate) use tokens::hash;
pub use tokens::{REFRESH_GRACE_SECS, REFRESH_TTL_DAYS, Tokens, rotate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(accounts::sign_up))
        .route("/api/auth/login", post(accounts::log_in))
        .route("/api/auth/refresh", post(accounts::refresh))
        .route("/api/auth/logout", post(accounts::log_out))
        .route("/api/auth/me", get(accounts::me))
        .route("/api/auth/accept-invite", post(accounts::accept_invite))
        .route("/api/auth/password/forgot", post(reset::forgot_password))
        .route("/api/auth/password/reset", post(reset::reset_password))
}
