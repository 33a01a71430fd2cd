//! The internal token: who the caller is, signed by auth (Ed25519), verified by every other service
//! with the public key alone.
//!
//! The gateway and the relay obtain a token for a session (or a stream key) from auth and pass it in
//! gRPC metadata as `authorization: Bearer <token>`. A service never trusts a user id sent as a plain
//! field. Tokens live 60 s; the verifier fetches auth's public key at start and again when a signature
//! stops matching (auth restarted with a new key), at most once every few seconds.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use livestreamer_proto::auth::{GetVerificationKeyRequest, auth_client::AuthClient};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use tonic::{Request, Status, metadata::MetadataMap};

/// How long an internal token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60);
const ISSUER: &str = "livestreamer-auth";
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// The claims of an internal token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id, as a string (JWT convention).
    pub sub: String,
    pub username: String,
    pub role: String,
    /// `resource -> [action]`, as in the public User.
    pub permissions: BTreeMap<String, Vec<String>>,
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
}

impl Claims {
    pub fn new(
        user_id: i64,
        username: String,
        role: String,
        permissions: BTreeMap<String, Vec<String>>,
        now_unix: u64,
    ) -> Self {
        Self {
            sub: user_id.to_string(),
            username,
            role,
            permissions,
            iss: ISSUER.to_owned(),
            iat: now_unix,
            exp: now_unix + TOKEN_LIFETIME.as_secs(),
        }
    }
}

/// The verified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub permissions: BTreeMap<String, Vec<String>>,
}

impl Caller {
    pub fn can(&self, resource: &str, action: &str) -> bool {
        self.permissions
            .get(resource)
            .is_some_and(|actions| actions.iter().any(|a| a == action))
    }

    /// `Ok` when the caller holds `resource:action`, else a gRPC PermissionDenied naming it.
    pub fn require(&self, resource: &str, action: &str) -> Result<(), Status> {
        if self.can(resource, action) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "You lack the permission {resource}:{action}"
            )))
        }
    }
}

/// Puts `token` into a request's metadata.
pub fn attach<T>(request: &mut Request<T>, token: &str) {
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
}

fn bearer(metadata: &MetadataMap) -> Option<&str> {
    metadata
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

#[derive(Clone)]
pub struct TokenVerifier {
    source: KeySource,
    /// The key and when it was last fetched; `None` until auth first answered.
    key: Arc<RwLock<Option<(DecodingKey, Instant)>>>,
}

#[derive(Clone)]
enum KeySource {
    Fixed,
    Auth(String),
}

impl TokenVerifier {
    /// A verifier with a known public key (auth itself, or tests).
    pub fn with_public_key(public_key: &[u8]) -> Self {
        Self {
            source: KeySource::Fixed,
            key: Arc::new(RwLock::new(Some((
                DecodingKey::from_ed_der(public_key),
                Instant::now(),
            )))),
        }
    }

    /// A verifier that fetches the public key from the auth service at `auth_url` when first needed,
    /// so a service can start before auth does.
    pub fn from_auth(auth_url: &str) -> Self {
        Self {
            source: KeySource::Auth(auth_url.to_owned()),
            key: Arc::new(RwLock::new(None)),
        }
    }

    /// A readiness check: the key is known, or auth gives it now.
    pub async fn ensure_key(&self) -> Result<(), String> {
        if self.key.read().await.is_some() || self.refresh().await {
            Ok(())
        } else {
            Err("cannot fetch the verification key from auth".to_owned())
        }
    }

    /// The caller named by the request's token: Unauthenticated when absent, invalid or expired.
    pub async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let token = bearer(request.metadata())
            .ok_or_else(|| Status::unauthenticated("You are not signed in"))?;
        self.verify(token).await
    }

    /// The caller if the request carries a token, `None` if it carries none.
    pub async fn optional_caller<T>(&self, request: &Request<T>) -> Result<Option<Caller>, Status> {
        match bearer(request.metadata()) {
            None => Ok(None),
            Some(token) => self.verify(token).await.map(Some),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, Status> {
        self.ensure_key().await.map_err(Status::unavailable)?;
        match self.decode(token).await {
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) && self.refresh().await => {
                self.decode(token).await
            }
            other => other,
        }
        .map_err(|e| Status::unauthenticated(format!("Invalid internal token: {e}")))
        .and_then(|claims| {
            let user_id = claims
                .sub
                .parse()
                .map_err(|_| Status::unauthenticated("Invalid internal token subject"))?;
            Ok(Caller {
                user_id,
                username: claims.username,
                role: claims.role,
                permissions: claims.permissions,
            })
        })
    }

    async fn decode(&self, token: &str) -> jsonwebtoken::errors::Result<Claims> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        let key = self.key.read().await;
        let (key, _) = key.as_ref().ok_or(ErrorKind::InvalidKeyFormat)?;
        Ok(jsonwebtoken::decode::<Claims>(token, key, &validation)?.claims)
    }

    /// Re-fetches the key from auth; false when there is nothing new to try.
    async fn refresh(&self) -> bool {
        let KeySource::Auth(url) = &self.source else {
            return false;
        };
        let mut key = self.key.write().await;
        if key
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < REFRESH_AT_MOST_EVERY)
        {
            return false;
        }
        match fetch_key(url).await {
            Ok(fresh) => {
                *key = Some((fresh, Instant::now()));
                true
            }
            Err(error) => {
                tracing::warn!(%error, "cannot fetch auth's verification key");
                false
            }
        }
    }
}

async fn fetch_key(auth_url: &str) -> anyhow::Result<DecodingKey> {
    let mut client = AuthClient::connect(auth_url.to_owned()).await?;
    let key = client
        .get_verification_key(GetVerificationKeyRequest {})
        .await?
        .into_inner();
    anyhow::ensure!(
        key.algorithm == "EdDSA",
        "unexpected key algorithm {}",
        key.algorithm
    );
    anyhow::ensure!(
        key.public_key.len() == 32,
        "the public key must be 32 bytes"
    );
    Ok(DecodingKey::from_ed_der(&key.public_key))
}
