//! Join tokens: round trip, refusals by key id, tampering, validity period, meeting
//! claims, and reloading the ring file while in use.

use super::*;
use base64::Engine;

const ALL: GrantsWire = GrantsWire {
    publish: true,
    subscribe: true,
};

fn claims(nbf: Option<u64>, iat: u64, exp: u64) -> JoinClaims {
    JoinClaims {
        iss: ISSUER.into(),
        sub: "a".into(),
        name: "a".into(),
        room: "r".into(),
        grants: ALL,
        iat,
        exp,
        meeting: None,
        role: Role::Participant,
        nbf,
    }
}

fn sign_raw(claims: &JoinClaims, kid: Option<&str>, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[test]
fn round_trip_carries_the_kid_and_defaults_to_participant() {
    let keys = JoinTokens::from_secret(&[7; 32]);
    let t = keys.issue("r", "room-1", "Phòng 1", ALL, 60).unwrap();
    let header = jsonwebtoken::decode_header(&t).unwrap();
    assert_eq!(header.kid.as_deref(), Some(keys.signing_kid().as_str()));
    let c = keys.verify(&t).unwrap();
    assert_eq!(
        (c.room.as_str(), c.sub.as_str(), c.name.as_str()),
        ("r", "room-1", "Phòng 1")
    );
    assert_eq!((c.role, c.meeting, c.nbf), (Role::Participant, None, None));
    let host = keys
        .issue_with_role("r", "room-1", "Phòng 1", Role::Host, ALL, 60)
        .unwrap();
    assert_eq!(keys.verify(&host).unwrap().role, Role::Host);
}

#[test]
fn tokens_without_a_role_claim_are_participants() {
    // What `hoinghi token` printed before roles existed, signed with a migrated key.
    let secret = [7; 32];
    let keys = JoinTokens::from_secret(&secret);
    let now = unix_now();
    let payload = serde_json::json!({
        "iss": ISSUER, "sub": "a", "name": "a", "room": "r",
        "grants": {"publish": true, "subscribe": true}, "iat": now, "exp": now + 60,
    });
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.signing_kid());
    let t = jsonwebtoken::encode(&header, &payload, &EncodingKey::from_secret(&secret)).unwrap();
    assert_eq!(keys.verify(&t).unwrap().role, Role::Participant);
}

#[test]
fn refusals_by_key_id() {
    let mut ring = KeyRing::generate();
    let old = ring.signer().clone();
    let new_kid = ring.rotate().kid.clone();
    ring.retire(&old.kid).unwrap();
    let keys = JoinTokens::from_ring(&ring);
    let now = unix_now();
    let c = claims(None, now, now + 60);

    let retired = sign_raw(&c, Some(&old.kid), &old.secret);
    assert_eq!(
        keys.verify(&retired),
        Err(TokenError::Invalid("signed with a retired key".into()))
    );
    let unknown = sign_raw(&c, Some("k-nobody"), &[1; 32]);
    assert_eq!(
        keys.verify(&unknown),
        Err(TokenError::Invalid("unknown key id".into()))
    );
    let secret = &ring.signer().secret;
    let no_kid = sign_raw(&c, None, secret);
    assert_eq!(
        keys.verify(&no_kid),
        Err(TokenError::Invalid("no key id (kid) in the header".into()))
    );
    // The right kid with another secret; the right secret under another active kid.
    let wrong_secret = sign_raw(&c, Some(&new_kid), &[9; 32]);
    assert_eq!(
        keys.verify(&wrong_secret),
        Err(TokenError::Invalid("wrong signature".into()))
    );
    assert!(keys.verify(&sign_raw(&c, Some(&new_kid), secret)).is_ok());
}

#[test]
fn tampered_and_malformed_tokens_are_refused() {
    let keys = JoinTokens::from_secret(&[7; 32]);
    let t = keys.issue("r", "room-1", "Phòng 1", ALL, 60).unwrap();
    assert!(matches!(
        keys.verify("abc.def.ghi"),
        Err(TokenError::Invalid(_))
    ));
    assert!(matches!(keys.verify(""), Err(TokenError::Invalid(_))));

    // Same header and signature, claims for another room with host rights.
    let mut parts: Vec<&str> = t.split('.').collect();
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        br#"{"iss":"hoinghi","sub":"x","name":"x","room":"other","role":"host","grants":{"publish":true,"subscribe":true},"iat":1,"exp":99999999999}"#,
    );
    parts[1] = &forged;
    assert_eq!(
        keys.verify(&parts.join(".")),
        Err(TokenError::Invalid("wrong signature".into()))
    );
    // Another algorithm in the header.
    let mut header = Header::new(Algorithm::HS384);
    header.kid = Some(keys.signing_kid());
    let now = unix_now();
    let hs384 = jsonwebtoken::encode(
        &header,
        &claims(None, now, now + 60),
        &EncodingKey::from_secret(&[7; 32]),
    )
    .unwrap();
    assert!(matches!(keys.verify(&hs384), Err(TokenError::Invalid(_))));
}

#[test]
fn expiry_and_not_before() {
    let secret = [7; 32];
    let keys = JoinTokens::from_secret(&secret);
    let kid = keys.signing_kid();
    let now = unix_now();
    let expired = sign_raw(&claims(None, now - 100, now - 10), Some(&kid), &secret);
    assert_eq!(keys.verify(&expired), Err(TokenError::Expired));
    let early = sign_raw(
        &claims(Some(now + 600), now, now + 3600),
        Some(&kid),
        &secret,
    );
    assert_eq!(keys.verify(&early), Err(TokenError::NotYetValid));
    assert_eq!(
        TokenError::NotYetValid.to_string(),
        "the token is not valid yet"
    );
    let started = sign_raw(&claims(Some(now - 5), now, now + 3600), Some(&kid), &secret);
    assert!(keys.verify(&started).is_ok());
}

#[test]
fn issue_for_meeting_sets_the_meeting_claims() {
    let keys = JoinTokens::from_secret(&[7; 32]);
    let now = Utc::now();
    let t = keys
        .issue_for_meeting(
            "m-42",
            "m-42-occ-3",
            "ep-7",
            "Phòng họp UBND xã A",
            Role::Host,
            ALL,
            now - chrono::Duration::minutes(1),
            now + chrono::Duration::hours(2),
        )
        .unwrap();
    let c = keys.verify(&t).unwrap();
    assert_eq!(c.meeting.as_deref(), Some("m-42"));
    assert_eq!((c.room.as_str(), c.sub.as_str()), ("m-42-occ-3", "ep-7"));
    assert_eq!(c.role, Role::Host);
    assert_eq!(
        c.nbf,
        Some((now - chrono::Duration::minutes(1)).timestamp() as u64)
    );
    assert_eq!(c.exp, (now + chrono::Duration::hours(2)).timestamp() as u64);

    // Not valid until the pre-meeting window opens.
    let later = keys
        .issue_for_meeting(
            "m-42",
            "m-42",
            "ep-7",
            "A",
            Role::Participant,
            ALL,
            now + chrono::Duration::minutes(30),
            now + chrono::Duration::hours(2),
        )
        .unwrap();
    assert_eq!(keys.verify(&later), Err(TokenError::NotYetValid));

    let backwards = keys.issue_for_meeting(
        "m",
        "m",
        "e",
        "A",
        Role::Participant,
        ALL,
        now,
        now - chrono::Duration::seconds(1),
    );
    assert!(matches!(backwards, Err(TokenError::Invalid(m)) if m.contains("expires_at")));
    let long = "x".repeat(MAX_CLAIM_CHARS + 1);
    let too_long = keys.issue_for_meeting(
        &long,
        "m",
        "e",
        "A",
        Role::Participant,
        ALL,
        now,
        now + chrono::Duration::hours(1),
    );
    assert!(matches!(too_long, Err(TokenError::Invalid(m)) if m.contains("claim meeting")));
}

#[test]
fn an_open_ring_follows_its_file() {
    let dir = std::env::temp_dir().join(format!("hoinghi-auth-{:016x}", rand::random::<u64>()));
    let path = dir.join("jwt.key");
    let keys = JoinTokens::open(&path).unwrap();
    let before = keys.issue("r", "i", "n", ALL, 60).unwrap();
    let old_kid = keys.signing_kid();

    let mut ring = KeyRing::load_or_create(&path).unwrap();
    let new_kid = ring.rotate().kid.clone();
    ring.retire(&old_kid).unwrap();
    ring.save(&path).unwrap();

    // Seen after at most RELOAD_INTERVAL, without reopening.
    let deadline = Instant::now() + RELOAD_INTERVAL * 5;
    while keys.verify(&before).is_ok() {
        assert!(Instant::now() < deadline, "the retirement was never seen");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        keys.verify(&before),
        Err(TokenError::Invalid("signed with a retired key".into()))
    );
    assert_eq!(keys.signing_kid(), new_kid);
    let after = keys.issue("r", "i", "n", ALL, 60).unwrap();
    assert!(keys.verify(&after).is_ok());

    // A broken file leaves the keys in force.
    std::thread::sleep(RELOAD_INTERVAL);
    fs::write(&path, "garbage").unwrap();
    std::thread::sleep(RELOAD_INTERVAL + Duration::from_millis(50));
    assert!(keys.verify(&after).is_ok());
    assert_eq!(keys.signing_kid(), new_kid);
    fs::remove_dir_all(dir).unwrap();
}
