//! Account fields that parse, not validate: once a `Username` exists it is a valid one.

mod email;
mod password;
mod profile;
mod username;

pub use email::Email;
pub use password::Password;
pub use profile::{About, DisplayName, WebsiteUrl};
pub use username::Username;

/// The fields of a request that failed to parse, each with its reason, so one 400 names them all.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<String>);

impl FieldErrors {
    /// Keeps the value of a successful parse, or records why it failed.
    pub fn take<T>(&mut self, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|reason| self.0.push(reason)).ok()
    }

    pub fn into_result(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }
}
