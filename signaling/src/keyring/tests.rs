//! The ring's rules and its file: rotation, retirement, the refusal to retire the
//! signer, atomic private writes, and migration from the one-key file.

use super::*;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("hoinghi-ring-{:016x}", rand::random::<u64>()));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn kids(ring: &KeyRing) -> Vec<(&str, KeyStatus)> {
    ring.keys()
        .iter()
        .map(|k| (k.kid.as_str(), k.status))
        .collect()
}

#[test]
fn rotate_makes_the_new_key_sign_and_keeps_the_old_active() {
    let mut ring = KeyRing::generate();
    let first = ring.signer().kid.clone();
    assert!(ring.signer().secret.len() >= MIN_SECRET_BYTES);
    let second = ring.rotate().kid.clone();
    assert_ne!(first, second);
    assert_eq!(ring.signer().kid, second);
    assert_ne!(ring.get(&first).unwrap().secret, ring.signer().secret);
    assert_eq!(
        kids(&ring),
        vec![
            (first.as_str(), KeyStatus::Active),
            (second.as_str(), KeyStatus::Active)
        ]
    );
}

#[test]
fn retire_refuses_the_signer_unknown_and_retired_keys() {
    let mut ring = KeyRing::generate();
    let only = ring.signer().kid.clone();
    assert!(matches!(ring.retire(&only), Err(KeyRingError::SigningKey(k)) if k == only));
    assert!(matches!(
        ring.retire("nope"),
        Err(KeyRingError::UnknownKid(_))
    ));

    let newer = ring.rotate().kid.clone();
    // Still the signer, even with an older active key to fall back on.
    assert!(matches!(
        ring.retire(&newer),
        Err(KeyRingError::SigningKey(_))
    ));
    ring.retire(&only).unwrap();
    assert_eq!(ring.get(&only).unwrap().status, KeyStatus::Retired);
    assert_eq!(ring.signer().kid, newer);
    assert!(matches!(
        ring.retire(&only),
        Err(KeyRingError::AlreadyRetired(_))
    ));
    let message = ring.retire(&newer).unwrap_err().to_string();
    assert!(message.contains("hoinghi keys rotate"), "{message}");
}

#[test]
fn the_file_round_trips_privately_and_atomically() {
    let tmp = TempDir::new();
    let path = tmp.0.join("sub").join("jwt.key");
    let mut ring = KeyRing::load_or_create(&path).unwrap();
    assert_eq!(
        KeyRing::load_or_create(&path).unwrap(),
        ring,
        "created once"
    );
    let old = ring.signer().kid.clone();
    ring.rotate();
    ring.retire(&old).unwrap();
    ring.save(&path).unwrap();

    let (back, legacy) = KeyRing::read(&path).unwrap();
    assert!(!legacy);
    assert_eq!(back, ring);
    // Only the ring is left in the directory: the temporary file was renamed.
    let names: Vec<String> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["jwt.key".to_string()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let before = fs::metadata(&path).unwrap();
        assert_eq!(before.permissions().mode() & 0o777, 0o600);
        // A save replaces the file (new inode) rather than writing into it, so a reader
        // never sees half a ring; the replacement is private too, even if the old file
        // had been made readable.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        ring.save(&path).unwrap();
        let after = fs::metadata(&path).unwrap();
        assert_ne!(before.ino(), after.ino());
        assert_eq!(after.permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn a_failed_save_leaves_the_old_ring_and_no_temporary_file() {
    let tmp = TempDir::new();
    let path = tmp.0.join("jwt.key");
    let ring = KeyRing::load_or_create(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    // A directory where the ring should be: the rename fails.
    let blocked = tmp.0.join("blocked");
    fs::create_dir_all(blocked.join("inside")).unwrap();
    assert!(matches!(ring.save(&blocked), Err(KeyRingError::Io { .. })));
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    let mut names: Vec<String> = fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["blocked".to_string(), "jwt.key".to_string()]);
}

#[test]
fn a_key_file_of_earlier_versions_becomes_the_first_key() {
    let tmp = TempDir::new();
    let path = tmp.0.join("jwt.key");
    let secret = [7u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    fs::write(&path, format!("{}\n", b64.encode(secret))).unwrap();

    let ring = KeyRing::load_or_create(&path).unwrap();
    assert_eq!(ring.keys().len(), 1);
    let key = ring.signer();
    assert_eq!(key.secret, secret);
    assert_eq!(key.status, KeyStatus::Active);
    assert_eq!(
        key.kid,
        derived_kid(&secret),
        "the kid comes from the secret"
    );
    assert_eq!(KeyRing::from_secret(&secret).signer().kid, key.kid);
    assert_ne!(derived_kid(&[8u8; 32]), key.kid);
    assert!(!key.kid.contains(&b64.encode(secret)[..8]));

    // Rewritten in the ring format, and read back the same from now on.
    let (back, legacy) = KeyRing::read(&path).unwrap();
    assert!(!legacy);
    assert_eq!(back, ring);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn malformed_rings_are_refused_saying_why() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let good = b64.encode([1u8; 32]);
    let short = b64.encode([1u8; 16]);
    let cases = [
        ("short".to_string(), "at least 32 bytes"),
        (short.clone(), "at least 32 bytes"),
        (format!("k1 active 2026-01-01T00:00:00Z {short}\n"), "line 1: the secret"),
        (format!("k1 dormant 2026-01-01T00:00:00Z {good}\n"), "dormant"),
        (format!("k1 active yesterday {good}\n"), "created_at"),
        (format!("k1 active {good}\n"), "found 3 fields"),
        (format!("k1 retired 2026-01-01T00:00:00Z {good}\n"), "no active key"),
        (
            format!("# c\nk1 active 2026-01-01T00:00:00Z {good}\nk1 active 2026-01-01T00:00:00Z {good}\n"),
            "line 3: key id k1 appears twice",
        ),
        (String::new(), "no active key"),
    ];
    for (text, says) in cases {
        let err = KeyRing::parse(&text).unwrap_err();
        assert!(err.contains(says), "{text:?}: {err}");
    }
    let tmp = TempDir::new();
    let path = tmp.0.join("jwt.key");
    fs::write(&path, "short").unwrap();
    assert!(matches!(
        KeyRing::load_or_create(&path),
        Err(KeyRingError::Malformed { .. })
    ));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "short",
        "left as it was"
    );
}

#[test]
fn debug_output_hides_the_secret() {
    let ring = KeyRing::from_secret(&[0xab; 32]);
    let debug = format!("{ring:?}");
    assert!(debug.contains(&ring.signer().kid), "{debug}");
    assert!(!debug.contains("171"), "{debug}");
}
