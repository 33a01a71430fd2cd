//! argon2id hashing, off the async threads (a hash takes tens of milliseconds by design).

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::{domain::Password, error::AuthError};

pub async fn hash(password: Password) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Internal(format!("hash a password: {e}")))
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

/// Whether `candidate` matches the stored hash.
pub async fn verify(candidate: String, stored_hash: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored_hash)
            .map_err(|e| AuthError::Internal(format!("stored hash unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

/// A hash to verify against when the account does not exist, so that a wrong username takes as long
/// as a wrong password (no account enumeration by timing).
pub fn decoy_hash() -> String {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CZBv0bqKBHBzbWrPEHAcFqg1G6CGd6Ugf3IlsZxvlVI"
        .to_owned()
}
