//! Who is calling: the bearer session token checked against the key and then against
//! the database (a deleted account, a changed role, a revoked or re-keyed terminal take
//! effect at once), and the role a route requires.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppError;
use crate::access::{credential_tag, Audience};
use crate::store::{Endpoint, Role, Staff, StoreError};
use crate::AppState;

const NO_SESSION: &str = "log in first: the session token is missing, invalid or expired";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A staff account.
    Staff(Staff),
    /// A room terminal.
    Device(Endpoint),
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, AppError> {
        Principal::from_token(state, bearer(parts)?).await
    }
}

/// The bearer token of a request.
pub fn bearer(parts: &Parts) -> Result<&str, AppError> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| AppError::unauthorized(NO_SESSION))
}

impl Principal {
    /// Who a session token belongs to, checked against the key and the database.
    pub async fn from_token(state: &AppState, token: &str) -> Result<Principal, AppError> {
        let claims = state
            .sessions
            .verify(token)
            .map_err(|_| AppError::unauthorized(NO_SESSION))?;
        let gone = |e: StoreError| match e {
            StoreError::NotFound { .. } => AppError::unauthorized(NO_SESSION),
            e => e.into(),
        };
        match claims.aud {
            Audience::Staff => Ok(Principal::Staff(
                state.store.staff(&claims.sub).await.map_err(gone)?,
            )),
            Audience::Device => {
                let endpoint = state.store.endpoint(&claims.sub).await.map_err(gone)?;
                let hash = state
                    .store
                    .credential_hash(&endpoint.id)
                    .await
                    .map_err(gone)?;
                if endpoint.revoked || claims.cred.as_deref() != Some(&credential_tag(&hash)) {
                    return Err(AppError::unauthorized(NO_SESSION));
                }
                Ok(Principal::Device(endpoint))
            }
        }
    }

    /// The staff account, if its role `R` admits it.
    pub fn admitted<R: Roles>(self) -> Result<Staff, AppError> {
        match self {
            Principal::Staff(s) if s.role == Role::Administrator || R::ROLES.contains(&s.role) => {
                Ok(s)
            }
            _ => Err(AppError::forbidden()),
        }
    }
}

/// The roles a route admits, besides the administrator, who is admitted everywhere.
pub trait Roles {
    /// The roles.
    const ROLES: &'static [Role];
}

/// Any staff account (read-only routes).
pub struct AnyStaff;
impl Roles for AnyStaff {
    const ROLES: &'static [Role] = &[Role::Scheduler, Role::Operator];
}

/// Schedulers: units, terminals (and later meetings).
pub struct Schedulers;
impl Roles for Schedulers {
    const ROLES: &'static [Role] = &[Role::Scheduler];
}

/// Operators: the board.
pub struct Operators;
impl Roles for Operators {
    const ROLES: &'static [Role] = &[Role::Operator];
}

/// Administrators only.
pub struct Administrators;
impl Roles for Administrators {
    const ROLES: &'static [Role] = &[];
}

/// A staff caller whose role `R` admits. Room terminals are refused with 403.
pub struct RequireRole<R: Roles>(pub Staff, pub PhantomData<R>);

impl<R: Roles> FromRequestParts<Arc<AppState>> for RequireRole<R> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, AppError> {
        let staff = Principal::from_request_parts(parts, state)
            .await?
            .admitted::<R>()?;
        Ok(RequireRole(staff, PhantomData))
    }
}

/// Failed staff logins per username: after [`LoginThrottle::MAX_FAILURES`] within
/// [`LoginThrottle::WINDOW`], the username is refused until the window has passed,
/// whether it exists or not (so the lockout tells nothing either).
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// Failures allowed in one window.
    pub const MAX_FAILURES: u32 = 5;
    /// The window, from the first failure.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);
    /// Usernames tracked at most (memory bound against a spray of names).
    const MAX_TRACKED: usize = 10_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        // A panic while holding this lock leaves only counters behind: keep going.
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `username` is locked out now.
    pub fn locked(&self, username: &str) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        match map.get(username) {
            Some((_, since)) if now.duration_since(*since) > Self::WINDOW => {
                map.remove(username);
                false
            }
            Some((n, _)) => *n >= Self::MAX_FAILURES,
            None => false,
        }
    }

    /// Count a failure.
    pub fn failed(&self, username: &str) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= Self::MAX_TRACKED {
            map.retain(|_, (_, since)| now.duration_since(*since) <= Self::WINDOW);
        }
        if map.len() < Self::MAX_TRACKED || map.contains_key(username) {
            map.entry(username.to_string()).or_insert((0, now)).0 += 1;
        }
    }

    /// Forget the failures after a success.
    pub fn succeeded(&self, username: &str) {
        self.lock().remove(username);
    }
}
