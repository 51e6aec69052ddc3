//! Join tokens: HS256 JWTs carrying the room, the participant's identity and name, and
//! its grants. The signing key is a random secret kept in a file only the server reads.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::protocol::GrantsWire;

/// The issuer every token carries.
pub const ISSUER: &str = "hoinghi";
/// Longest identity, name or room accepted in a token, in characters.
pub const MAX_CLAIM_CHARS: usize = 200;

/// The claims of a join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Always [`ISSUER`].
    pub iss: String,
    /// The participant's identity.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// The room to join.
    pub room: String,
    /// What it may do.
    pub grants: GrantsWire,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("the token expired")]
    Expired,
    /// Malformed, wrongly signed, wrong issuer or bad claims.
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// Errors loading or creating the signing key.
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

/// The signing and verifying key.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    /// Keys from a raw secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // The server signs and checks with its own clock: no skew to allow for.
        validation.leeway = 0;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Load the key file, or create it with a fresh random 32-byte secret (mode 0600)
    /// if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        if path.exists() {
            let text = fs::read_to_string(path).map_err(io)?;
            let secret = b64
                .decode(text.trim())
                .ok()
                .filter(|s| s.len() >= 32)
                .ok_or_else(|| KeyError::Malformed(path.display().to_string()))?;
            return Ok(Self::from_secret(&secret));
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let secret: [u8; 32] = rand::random();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(path).map_err(io)?;
        writeln!(f, "{}", b64.encode(secret)).map_err(io)?;
        Ok(Self::from_secret(&secret))
    }

    /// Sign a join token valid for `ttl_secs` from now.
    pub fn issue(
        &self,
        room: &str,
        identity: &str,
        name: &str,
        grants: GrantsWire,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        let now = unix_now();
        let claims = JoinClaims {
            iss: ISSUER.to_string(),
            sub: identity.to_string(),
            name: name.to_string(),
            room: room.to_string(),
            grants,
            iat: now,
            exp: now + ttl_secs,
        };
        check_claims(&claims)?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verify a token's signature, issuer and expiry, and return its claims.
    pub fn verify(&self, token: &str) -> Result<JoinClaims, TokenError> {
        let data = jsonwebtoken::decode::<JoinClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::Invalid("wrong signature".into()),
                ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer".into()),
                _ => TokenError::Invalid(e.to_string()),
            })?;
        check_claims(&data.claims)?;
        Ok(data.claims)
    }
}

fn check_claims(c: &JoinClaims) -> Result<(), TokenError> {
    for (field, value) in [("sub", &c.sub), ("room", &c.room), ("name", &c.name)] {
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
mod tests {
    use super::*;

    const ALL: GrantsWire = GrantsWire {
        publish: true,
        subscribe: true,
    };

    #[test]
    fn round_trip_and_refusals() {
        let keys = JwtKeys::from_secret(&[7; 32]);
        let t = keys.issue("r", "room-1", "Phòng 1", ALL, 60).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!(
            (c.room.as_str(), c.sub.as_str(), c.name.as_str()),
            ("r", "room-1", "Phòng 1")
        );

        let other = JwtKeys::from_secret(&[8; 32]);
        assert_eq!(
            other.verify(&t),
            Err(TokenError::Invalid("wrong signature".into()))
        );
        assert!(matches!(
            keys.verify("abc.def.ghi"),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(keys.verify(""), Err(TokenError::Invalid(_))));

        // Tampered payload: same signature, different claims.
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            br#"{"iss":"hoinghi","sub":"x","name":"x","room":"other","grants":{"publish":true,"subscribe":true},"iat":1,"exp":99999999999}"#,
        );
        parts[1] = &forged;
        assert!(matches!(
            keys.verify(&parts.join(".")),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn expired_token_is_refused_as_expired() {
        let keys = JwtKeys::from_secret(&[7; 32]);
        let now = unix_now();
        let claims = JoinClaims {
            iss: ISSUER.into(),
            sub: "a".into(),
            name: "a".into(),
            room: "r".into(),
            grants: ALL,
            iat: now - 100,
            exp: now - 10,
        };
        let t =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&t), Err(TokenError::Expired));
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("hoinghi-key-{}", rand::random::<u64>()));
        let path = dir.join("jwt.key");
        let a = JwtKeys::load_or_create(&path).unwrap();
        let t = a.issue("r", "i", "n", ALL, 60).unwrap();
        let b = JwtKeys::load_or_create(&path).unwrap();
        assert!(b.verify(&t).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::write(&path, "short").unwrap();
        assert!(matches!(
            JwtKeys::load_or_create(&path),
            Err(KeyError::Malformed(_))
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
