//! Signs internal tokens with an Ed25519 key that only auth holds.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use service_kit::internal_token::Claims;

pub struct TokenSigner {
    encoding_key: EncodingKey,
    public_key: [u8; 32],
}

impl TokenSigner {
    /// From a configured base64 seed, or a fresh random key (tokens live 60 s, so a restart that
    /// changes the key only makes verifiers fetch the new public key).
    pub fn new(seed: Option<&SecretString>) -> anyhow::Result<Self> {
        let seed: [u8; 32] = match seed {
            Some(seed) => STANDARD
                .decode(seed.expose_secret().trim())?
                .try_into()
                .map_err(|_| anyhow::anyhow!("AUTH_SIGNING_KEY must be 32 bytes of base64"))?,
            None => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed)?;
                seed
            }
        };
        let key = SigningKey::from_bytes(&seed);
        let der = key
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encode the signing key: {e}"))?;
        Ok(Self {
            encoding_key: EncodingKey::from_ed_der(der.as_bytes()),
            public_key: key.verifying_key().to_bytes(),
        })
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    pub fn sign(
        &self,
        user_id: i64,
        username: &str,
        role: &str,
        permissions: BTreeMap<String, Vec<String>>,
    ) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let claims = Claims::new(
            user_id,
            username.to_owned(),
            role.to_owned(),
            permissions,
            now,
        );
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &claims,
            &self.encoding_key,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::internal_token::TokenVerifier;

    #[tokio::test]
    async fn a_signed_token_verifies_with_the_public_key_alone() {
        let signer = TokenSigner::new(None).unwrap();
        let permissions = BTreeMap::from([("own_broadcast".to_owned(), vec!["create".to_owned()])]);
        let token = signer.sign(7, "dj", "streamer", permissions).unwrap();

        let caller = TokenVerifier::with_public_key(&signer.public_key())
            .verify(&token)
            .await
            .unwrap();
        assert_eq!((caller.user_id, caller.username.as_str()), (7, "dj"));
        assert!(caller.can("own_broadcast", "create"));
        assert!(!caller.can("any_broadcast", "delete"));

        let other = TokenSigner::new(None).unwrap();
        let forged = TokenVerifier::with_public_key(&other.public_key())
            .verify(&token)
            .await;
        assert_eq!(forged.unwrap_err().code(), tonic::Code::Unauthenticated);
    }
}
