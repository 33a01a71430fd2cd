//! The superadmin, created from `AUTH_SUPERADMIN_USERNAME`, `_EMAIL` and `_PASSWORD` at the first
//! start: the platform's first administrator cannot sign up (every sign-up is a streamer), and a
//! seeded password in a migration would be the same on every installation.

use deadpool_postgres::Pool;
use secrecy::{ExposeSecret, SecretString};
use service_kit::config::{ConfigError, Env};

use crate::{
    domain::{Email, Password, Username},
    error::AuthError,
    passwords, repo,
};

#[derive(Debug, Clone)]
pub struct Superadmin {
    pub username: Username,
    pub email: Email,
    pub password: SecretString,
}

impl Superadmin {
    /// All three variables, or none (no superadmin is created); anything else is a config error.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let (username, email, password) = (
            env.get("SUPERADMIN_USERNAME"),
            env.get("SUPERADMIN_EMAIL"),
            env.get("SUPERADMIN_PASSWORD"),
        );
        let (username, email, password) = match (username, email, password) {
            (None, None, None) => return Ok(None),
            (Some(u), Some(e), Some(p)) => (u, e, p),
            _ => {
                return Err(ConfigError {
                    variable: "AUTH_SUPERADMIN_USERNAME, _EMAIL, _PASSWORD".to_owned(),
                    reason: "set all three or none".to_owned(),
                });
            }
        };
        let invalid = |variable: String| move |reason: String| ConfigError { variable, reason };
        Password::parse(&password.1).map_err(invalid(password.0))?;
        Ok(Some(Self {
            username: Username::parse(&username.1).map_err(invalid(username.0))?,
            email: Email::parse(&email.1).map_err(invalid(email.0))?,
            password: password.1.into(),
        }))
    }

    /// Creates the account unless its username or email exists already (a later start changes
    /// nothing, so a password changed since is kept).
    pub async fn ensure(&self, pool: &Pool) -> Result<(), AuthError> {
        let password = Password::parse(self.password.expose_secret())
            .map_err(|reason| AuthError::Internal(format!("superadmin password: {reason}")))?;
        let hash = passwords::hash(password).await?;
        let client = pool.get().await?;
        if repo::insert_superadmin(&client, &self.username, &self.email, &hash).await? {
            tracing::info!(username = self.username.as_str(), "created the superadmin");
        }
        Ok(())
    }
}
