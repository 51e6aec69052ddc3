//! Secrets at rest: room terminals' device credentials (random, stored as SHA-256) and
//! staff passwords (argon2id with a random salt).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};

/// What every device credential starts with, so that one found in a file or a log can
/// be recognised for what it is.
pub const CREDENTIAL_PREFIX: &str = "hnd_";
/// Random bytes in a device credential.
pub const CREDENTIAL_BYTES: usize = 32;

/// A fresh device credential: the prefix and 32 random bytes, base64url.
pub fn new_credential() -> String {
    let bytes: [u8; CREDENTIAL_BYTES] = rand::random();
    format!(
        "{CREDENTIAL_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a device credential. A plain hash suffices: the secret has 256
/// bits of entropy, so nothing can be guessed from the hash, and it can be looked up.
pub fn credential_hash(credential: &str) -> String {
    let digest = Sha256::digest(credential.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random password for the first administrator: 18 bytes, base64url (24 characters).
pub fn new_password() -> String {
    let bytes: [u8; 18] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PHC string of `password`: argon2id with the crate's default parameters and a
/// random 16-byte salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `stored` (constant-time comparison by the
/// crate). A malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spend the time of one password check when there is no account, so that the answer
/// time does not tell whether a username exists.
pub fn verify_nothing(password: &str) {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash_password(&new_password()).unwrap_or_default());
    let _ = verify_password(password, &DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_long_random_and_hash_stably() {
        let a = new_credential();
        let b = new_credential();
        assert_ne!(a, b);
        assert!(a.starts_with(CREDENTIAL_PREFIX) && a.len() == 4 + 43, "{a}");
        assert_eq!(credential_hash(&a), credential_hash(&a));
        assert_ne!(credential_hash(&a), credential_hash(&b));
        assert_eq!(credential_hash(&a).len(), 64);
    }

    #[test]
    fn passwords_verify_and_salts_differ() {
        let h1 = hash_password("mật khẩu dài").unwrap();
        let h2 = hash_password("mật khẩu dài").unwrap();
        assert!(h1.starts_with("$argon2id$"), "{h1}");
        assert_ne!(h1, h2);
        assert!(verify_password("mật khẩu dài", &h1));
        assert!(!verify_password("mật khẩu dai", &h1));
        assert!(!verify_password("x", "not a hash"));
    }
}
