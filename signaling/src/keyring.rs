//! The key ring of join tokens: HS256 secrets named by a key id (`kid`), kept in one
//! file only the server's user reads. The newest active key signs; every active key
//! verifies; a retired key is kept only so that its tokens are refused by name.
//!
//! The file is text, one key a line: `KID STATUS CREATED_AT BASE64_SECRET`, where
//! STATUS is `active` or `retired` and CREATED_AT is RFC 3339; lines starting with `#`
//! are comments. The one-line file of earlier versions (a bare base64 secret) is read as
//! a ring of one active key whose kid is derived from the secret, and rewritten in the
//! ring format, so tokens issued before the upgrade stay valid.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Whether a key still verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Verifies tokens; the newest active key also signs.
    Active,
    /// Refuses its tokens.
    Retired,
}

impl KeyStatus {
    /// As written in the file and shown by `hoinghi keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
        }
    }
}

/// One key of the ring.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The key id tokens carry in their header.
    pub kid: String,
    /// The HS256 secret.
    pub secret: Vec<u8>,
    /// When it was made (for a migrated key: when it was migrated).
    pub created_at: DateTime<Utc>,
    /// Active or retired.
    pub status: KeyStatus,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Errors reading, writing or changing the ring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// The file could not be read or written.
    #[error("key ring {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The file holds something else than a key ring.
    #[error("key ring {path}: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        reason: String,
    },
    /// No key has this id.
    #[error("no key has the id {0}")]
    UnknownKid(String),
    /// The key signs new tokens: retiring it would leave none, or bring back an older one.
    #[error("{0} is the signing key; run `hoinghi keys rotate` first, then retire it")]
    SigningKey(String),
    /// The key is retired already.
    #[error("{0} is already retired")]
    AlreadyRetired(String),
}

/// The keys, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    /// A ring of one fresh random key.
    pub fn generate() -> KeyRing {
        KeyRing {
            keys: vec![new_key()],
        }
    }

    /// A ring of one active key with this secret, its kid derived from the secret (how
    /// a key file of earlier versions is migrated).
    pub fn from_secret(secret: &[u8]) -> KeyRing {
        KeyRing {
            keys: vec![SigningKey {
                kid: derived_kid(secret),
                secret: secret.to_vec(),
                created_at: now_secs(),
                status: KeyStatus::Active,
            }],
        }
    }

    /// Read the ring at `path`, or create it with one fresh key (mode 0600) if there is
    /// no file. A key file of earlier versions is converted in place.
    pub fn load_or_create(path: &Path) -> Result<KeyRing, KeyRingError> {
        if !path.exists() {
            let ring = KeyRing::generate();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(io_error(path))?;
            }
            ring.save(path)?;
            return Ok(ring);
        }
        let (ring, legacy) = KeyRing::read(path)?;
        if legacy {
            ring.save(path)?;
            tracing::info!(kid = %ring.signer().kid, path = %path.display(), "converted the join-token key file to a key ring");
        }
        Ok(ring)
    }

    /// Read the ring at `path`; the second value says the file is in the format of
    /// earlier versions (not rewritten here).
    pub fn read(path: &Path) -> Result<(KeyRing, bool), KeyRingError> {
        let text = fs::read_to_string(path).map_err(io_error(path))?;
        KeyRing::parse(&text).map_err(|reason| KeyRingError::Malformed {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parse the file's text; the second value says it is a one-secret file of earlier
    /// versions.
    pub fn parse(text: &str) -> Result<(KeyRing, bool), String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if let [(_, only)] = lines.as_slice() {
            if !only.contains(char::is_whitespace) {
                let secret = b64
                    .decode(only)
                    .ok()
                    .filter(|s| s.len() >= MIN_SECRET_BYTES)
                    .ok_or_else(|| {
                        format!("does not hold a key of at least {MIN_SECRET_BYTES} bytes (base64)")
                    })?;
                return Ok((KeyRing::from_secret(&secret), true));
            }
        }
        let mut keys: Vec<SigningKey> = Vec::new();
        for (n, line) in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [kid, status, created, secret] = words.as_slice() else {
                return Err(format!(
                    "line {n}: expected KID STATUS CREATED_AT SECRET, found {} fields",
                    words.len()
                ));
            };
            let status = match *status {
                "active" => KeyStatus::Active,
                "retired" => KeyStatus::Retired,
                other => {
                    return Err(format!(
                        "line {n}: status {other:?} is not active or retired"
                    ))
                }
            };
            let created_at = DateTime::parse_from_rfc3339(created)
                .map_err(|e| format!("line {n}: created_at {created:?}: {e}"))?
                .with_timezone(&Utc);
            let secret = b64
                .decode(secret)
                .ok()
                .filter(|s| s.len() >= MIN_SECRET_BYTES)
                .ok_or_else(|| {
                    format!(
                        "line {n}: the secret is not {MIN_SECRET_BYTES} or more bytes of base64"
                    )
                })?;
            if keys.iter().any(|k| k.kid == *kid) {
                return Err(format!("line {n}: key id {kid} appears twice"));
            }
            keys.push(SigningKey {
                kid: kid.to_string(),
                secret,
                created_at,
                status,
            });
        }
        if !keys.iter().any(|k| k.status == KeyStatus::Active) {
            return Err("no active key".into());
        }
        Ok((KeyRing { keys }, false))
    }

    /// Write the ring to `path` atomically: a temporary file (mode 0600) in the same
    /// directory, flushed to disk, then renamed over the old one, so that a reader
    /// sees either the old ring or the new one, never half a file.
    pub fn save(&self, path: &Path) -> Result<(), KeyRingError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut text = String::from(
            "# hoinghi join-token keys: KID STATUS CREATED_AT SECRET. Change with `hoinghi keys`.\n",
        );
        for k in &self.keys {
            text.push_str(&format!(
                "{} {} {} {}\n",
                k.kid,
                k.status.as_str(),
                k.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                b64.encode(&k.secret)
            ));
        }
        let name = path
            .file_name()
            .map_or_else(|| "keys".into(), |n| n.to_string_lossy().into_owned());
        let tmp = path.with_file_name(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        let written = write_private(&tmp, text.as_bytes()).and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io_error(path)(e));
        }
        // Make the rename itself durable; not every platform can open a directory.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// All keys, oldest first.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The key that signs: the newest active one.
    pub fn signer(&self) -> &SigningKey {
        // `parse`, `generate` and `retire` keep at least one key active.
        self.keys
            .iter()
            .rev()
            .find(|k| k.status == KeyStatus::Active)
            .expect("a ring always has an active key")
    }

    /// Add a fresh key, which signs from now on; the older keys stay active for
    /// verification until they are retired.
    pub fn rotate(&mut self) -> &SigningKey {
        self.keys.push(new_key());
        &self.keys[self.keys.len() - 1]
    }

    /// Retire `kid`: its tokens are refused from now on. The signing key cannot be
    /// retired (rotate first), so there is always exactly one signer.
    pub fn retire(&mut self, kid: &str) -> Result<(), KeyRingError> {
        let signer = self.signer().kid.clone();
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.kid == kid)
            .ok_or_else(|| KeyRingError::UnknownKid(kid.to_string()))?;
        if key.status == KeyStatus::Retired {
            return Err(KeyRingError::AlreadyRetired(kid.to_string()));
        }
        if key.kid == signer {
            return Err(KeyRingError::SigningKey(kid.to_string()));
        }
        key.status = KeyStatus::Retired;
        Ok(())
    }
}

/// The kid of a migrated secret: stable, so every process migrating the same file
/// names the key alike, and reveals nothing of the secret.
fn derived_kid(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"hoinghi join-token kid\0")
        .chain_update(secret)
        .finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("k{hex}")
}

fn new_key() -> SigningKey {
    let secret: [u8; MIN_SECRET_BYTES] = rand::random();
    SigningKey {
        kid: format!("k{:016x}", rand::random::<u64>()),
        secret: secret.to_vec(),
        created_at: now_secs(),
        status: KeyStatus::Active,
    }
}

/// Now, to the second: the file keeps seconds.
fn now_secs() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

fn write_private(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> KeyRingError + '_ {
    move |source| KeyRingError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests;
