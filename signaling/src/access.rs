//! Session tokens of the API: staff after a password login, room terminals after a
//! device-credential login. HS256 JWTs with a `kid` header, signed with a key of their
//! own (`DATA_DIR/session.key`), never with the join-token key.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{KeyError, TokenError, ISSUER};

/// Lifetime of a session token.
pub const SESSION_TTL_SECS: u64 = 3600;

/// Who a session token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// A staff account; `sub` is the staff id.
    Staff,
    /// A room terminal; `sub` is the endpoint id.
    Device,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Audience::Staff => "staff",
            Audience::Device => "device",
        }
    }
}

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Always [`ISSUER`].
    pub iss: String,
    /// `staff` or `device`.
    pub aud: Audience,
    /// The staff or endpoint id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// Device tokens: the first characters of the credential's hash, so that rotating
    /// the credential ends the sessions opened with the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred: Option<String>,
}

/// The session-token key and its id.
pub struct SessionKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl SessionKeys {
    /// Keys from a key id and a raw secret.
    pub fn from_secret(kid: &str, secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&["staff", "device"]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.leeway = 0;
        SessionKeys {
            kid: kid.to_string(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// The key id tokens carry in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Load the key file (`KID BASE64SECRET`), or create it (mode 0600) with a random
    /// key id and a random 32-byte secret.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        if path.exists() {
            let text = fs::read_to_string(path).map_err(io)?;
            let mut words = text.split_whitespace();
            let parsed = match (words.next(), words.next(), words.next()) {
                (Some(kid), Some(secret), None) => b64
                    .decode(secret)
                    .ok()
                    .filter(|s| s.len() >= 32)
                    .map(|s| (kid.to_string(), s)),
                _ => None,
            };
            let (kid, secret) =
                parsed.ok_or_else(|| KeyError::Malformed(path.display().to_string()))?;
            return Ok(Self::from_secret(&kid, &secret));
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let secret: [u8; 32] = rand::random();
        let kid = format!("s{:016x}", rand::random::<u64>());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(path).map_err(io)?;
        writeln!(f, "{kid} {}", b64.encode(secret)).map_err(io)?;
        Ok(Self::from_secret(&kid, &secret))
    }

    /// A token for `sub`, valid for [`SESSION_TTL_SECS`]; returns it and its expiry.
    pub fn issue(
        &self,
        aud: Audience,
        sub: &str,
        cred: Option<String>,
    ) -> Result<(String, u64), TokenError> {
        let now = unix_now();
        let claims = AccessClaims {
            iss: ISSUER.to_string(),
            aud,
            sub: sub.to_string(),
            iat: now,
            exp: now + SESSION_TTL_SECS,
            cred,
        };
        Ok((self.sign(&claims)?, claims.exp))
    }

    /// Sign arbitrary claims (tests make expired tokens with it).
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verify the key id, signature, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::Invalid("unknown key id".into()));
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::Invalid("wrong signature".into()),
                _ => TokenError::Invalid(e.to_string()),
            })?;
        Ok(data.claims)
    }
}

/// The part of a credential hash a device token carries.
pub fn credential_tag(credential_hash: &str) -> String {
    credential_hash.chars().take(16).collect()
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl std::fmt::Display for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_others_do_not() {
        let keys = SessionKeys::from_secret("k1", &[1; 32]);
        let (t, exp) = keys.issue(Audience::Staff, "s1", None).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!((c.aud, c.sub.as_str(), c.exp), (Audience::Staff, "s1", exp));

        // Same secret, other key id; other secret, same key id.
        let renamed = SessionKeys::from_secret("k2", &[1; 32]);
        assert!(matches!(renamed.verify(&t), Err(TokenError::Invalid(_))));
        let other = SessionKeys::from_secret("k1", &[2; 32]);
        assert_eq!(
            other.verify(&t),
            Err(TokenError::Invalid("wrong signature".into()))
        );

        let now = unix_now();
        let expired = keys
            .sign(&AccessClaims {
                iss: ISSUER.into(),
                aud: Audience::Device,
                sub: "e".into(),
                iat: now - 100,
                exp: now - 1,
                cred: None,
            })
            .unwrap();
        assert_eq!(keys.verify(&expired), Err(TokenError::Expired));
    }

    #[test]
    fn a_join_token_is_not_a_session_token() {
        let join = crate::auth::JoinTokens::from_secret(&[1; 32]);
        let grants = crate::protocol::GrantsWire {
            publish: true,
            subscribe: true,
        };
        let t = join.issue("r", "i", "n", grants, 60).unwrap();
        let keys = SessionKeys::from_secret("k1", &[1; 32]);
        assert!(keys.verify(&t).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("hoinghi-skey-{}", rand::random::<u64>()));
        let path = dir.join("session.key");
        let a = SessionKeys::load_or_create(&path).unwrap();
        let (t, _) = a.issue(Audience::Device, "e", None).unwrap();
        let b = SessionKeys::load_or_create(&path).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert!(b.verify(&t).is_ok());
        fs::write(&path, "onlyone").unwrap();
        assert!(matches!(
            SessionKeys::load_or_create(&path),
            Err(KeyError::Malformed(_))
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
