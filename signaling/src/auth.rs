//! Join tokens: HS256 JWTs carrying the room, the participant's identity, name and role,
//! its grants and, when issued for a meeting, the meeting. They are signed with the
//! newest key of the key ring ([`crate::keyring`]) and name it in their `kid` header;
//! a running server re-reads the ring when its file changes, so `hoinghi keys rotate`
//! and `retire` take effect without a restart.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::keyring::{KeyRing, KeyRingError, KeyStatus};
use crate::protocol::GrantsWire;
pub use crate::protocol::Role;

/// The issuer every token carries.
pub const ISSUER: &str = "hoinghi";
/// Longest identity, name, room or meeting accepted in a token, in characters.
pub const MAX_CLAIM_CHARS: usize = 200;
/// How often, at most, the server looks at the ring file for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The claims of a join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Always [`ISSUER`].
    pub iss: String,
    /// The participant's identity (for a meeting: the endpoint id).
    pub sub: String,
    /// Display name.
    pub name: String,
    /// The room to join (for a meeting: its id or its occurrence's id).
    pub room: String,
    /// What it may do.
    pub grants: GrantsWire,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// The meeting the token admits to; absent for tokens made by `hoinghi token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting: Option<String>,
    /// Host or participant; participant when absent.
    #[serde(default)]
    pub role: Role,
    /// Not valid before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("the token expired")]
    Expired,
    /// Before its `nbf`.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Malformed, wrongly signed, signed with a retired or unknown key, wrong issuer or
    /// bad claims.
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// Errors loading or creating a single-secret key file (the API's session key).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file holds something else than a key.
    #[error("key file {0} does not hold a key of at least 32 bytes (base64)")]
    Malformed(String),
}

/// Signs and verifies join tokens with the key ring.
pub struct JoinTokens {
    /// The ring file watched for changes; None for a ring held only in memory.
    file: Option<PathBuf>,
    keys: RwLock<Arc<Loaded>>,
    last_check: Mutex<Instant>,
    validation: Validation,
}

/// A ring ready to use, and the file version it came from.
struct Loaded {
    signer: (String, EncodingKey),
    verifiers: HashMap<String, Option<DecodingKey>>,
    stamp: Option<Stamp>,
}

/// What tells one version of the ring file from another: the ring is replaced by a
/// rename, so the inode changes on every write even within one mtime tick.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

impl Loaded {
    fn new(ring: &KeyRing, stamp: Option<Stamp>) -> Loaded {
        let signer = ring.signer();
        Loaded {
            signer: (signer.kid.clone(), EncodingKey::from_secret(&signer.secret)),
            verifiers: ring
                .keys()
                .iter()
                .map(|k| {
                    let key = (k.status == KeyStatus::Active)
                        .then(|| DecodingKey::from_secret(&k.secret));
                    (k.kid.clone(), key)
                })
                .collect(),
            stamp,
        }
    }
}

impl JoinTokens {
    /// Tokens signed with a ring held in memory only.
    pub fn from_ring(ring: &KeyRing) -> Self {
        Self::build(None, Loaded::new(ring, None))
    }

    /// Tokens signed with one secret, under the kid a migrated key file would get.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self::from_ring(&KeyRing::from_secret(secret))
    }

    /// Open the ring file, creating it (or converting a key file of earlier versions)
    /// if needed, and follow its changes.
    pub fn open(path: &Path) -> Result<Self, KeyRingError> {
        let ring = KeyRing::load_or_create(path)?;
        let stamp = Stamp::of(path);
        Ok(Self::build(
            Some(path.to_path_buf()),
            Loaded::new(&ring, stamp),
        ))
    }

    fn build(file: Option<PathBuf>, loaded: Loaded) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_nbf = true;
        // The server signs and checks with its own clock: no skew to allow for.
        validation.leeway = 0;
        JoinTokens {
            file,
            keys: RwLock::new(Arc::new(loaded)),
            last_check: Mutex::new(Instant::now()),
            validation,
        }
    }

    /// The kid new tokens are signed with.
    pub fn signing_kid(&self) -> String {
        self.current().signer.0.clone()
    }

    /// Sign a join token valid for `ttl_secs` from now, for a participant outside any
    /// meeting (what `hoinghi token` makes).
    pub fn issue(
        &self,
        room: &str,
        identity: &str,
        name: &str,
        grants: GrantsWire,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        self.issue_with_role(room, identity, name, Role::Participant, grants, ttl_secs)
    }

    /// [`JoinTokens::issue`] with a role.
    pub fn issue_with_role(
        &self,
        room: &str,
        identity: &str,
        name: &str,
        role: Role,
        grants: GrantsWire,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        let now = unix_now();
        self.sign(&JoinClaims {
            iss: ISSUER.to_string(),
            sub: identity.to_string(),
            name: name.to_string(),
            room: room.to_string(),
            grants,
            iat: now,
            exp: now.saturating_add(ttl_secs),
            meeting: None,
            role,
            nbf: None,
        })
    }

    /// Sign a token admitting `endpoint_id` to a meeting in `room` (the meeting's id,
    /// or one occurrence's: the caller decides), valid from `not_before` to
    /// `expires_at`.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_for_meeting(
        &self,
        meeting_id: &str,
        room: &str,
        endpoint_id: &str,
        display_name: &str,
        role: Role,
        grants: GrantsWire,
        not_before: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let secs = |t: DateTime<Utc>| u64::try_from(t.timestamp()).unwrap_or(0);
        let (nbf, exp) = (secs(not_before), secs(expires_at));
        if exp <= nbf {
            return Err(TokenError::Invalid(
                "expires_at must be after not_before".into(),
            ));
        }
        self.sign(&JoinClaims {
            iss: ISSUER.to_string(),
            sub: endpoint_id.to_string(),
            name: display_name.to_string(),
            room: room.to_string(),
            grants,
            iat: unix_now(),
            exp,
            meeting: Some(meeting_id.to_string()),
            role,
            nbf: Some(nbf),
        })
    }

    /// Sign `claims` as they are (after checking them) with the signing key.
    pub fn sign(&self, claims: &JoinClaims) -> Result<String, TokenError> {
        check_claims(claims)?;
        let keys = self.current();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.signer.0.clone());
        jsonwebtoken::encode(&header, claims, &keys.signer.1)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verify a token's key id, signature, issuer and validity period, and return its
    /// claims.
    pub fn verify(&self, token: &str) -> Result<JoinClaims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Invalid("no key id (kid) in the header".into()))?;
        let keys = self.current();
        let key = match keys.verifiers.get(&kid) {
            Some(Some(key)) => key,
            Some(None) => return Err(TokenError::Invalid("signed with a retired key".into())),
            None => return Err(TokenError::Invalid("unknown key id".into())),
        };
        let data = jsonwebtoken::decode::<JoinClaims>(token, key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidSignature => TokenError::Invalid("wrong signature".into()),
                ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer".into()),
                _ => TokenError::Invalid(e.to_string()),
            },
        )?;
        check_claims(&data.claims)?;
        Ok(data.claims)
    }

    /// The keys in force, after re-reading the ring file if it changed and was last
    /// looked at more than [`RELOAD_INTERVAL`] ago.
    fn current(&self) -> Arc<Loaded> {
        if let Some(path) = &self.file {
            self.reload_if_changed(path);
        }
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn reload_if_changed(&self, path: &Path) {
        {
            let mut last = self
                .last_check
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.elapsed() < RELOAD_INTERVAL {
                return;
            }
            *last = Instant::now();
        }
        let stamp = Stamp::of(path);
        let known = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .stamp
            .clone();
        if stamp.is_none() || stamp == known {
            return;
        }
        // A ring that cannot be read leaves the keys in force as they were: a bad edit
        // must not lock every room terminal out.
        match KeyRing::read(path) {
            Ok((ring, _)) => {
                let loaded = Loaded::new(&ring, stamp);
                tracing::info!(path = %path.display(), signing_kid = %loaded.signer.0, "reloaded the join-token keys");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(loaded);
            }
            Err(e) => tracing::warn!("keeping the join-token keys in force: {e}"),
        }
    }
}

fn check_claims(c: &JoinClaims) -> Result<(), TokenError> {
    let meeting = c.meeting.as_deref().map(|m| ("meeting", m));
    let fields = [("sub", &*c.sub), ("room", &*c.room), ("name", &*c.name)];
    for (field, value) in fields.into_iter().chain(meeting) {
        if value.trim().is_empty() {
            return Err(TokenError::Invalid(format!("claim {field} is empty")));
        }
        if value.chars().count() > MAX_CLAIM_CHARS {
            return Err(TokenError::Invalid(format!(
                "claim {field} is longer than {MAX_CLAIM_CHARS} characters"
            )));
        }
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
