//! The SMTP transport: plain for a local catcher, STARTTLS or implicit TLS (rustls with the ring
//! provider, the tree's one TLS stack, and the webpki roots) for a real relay, with AUTH when
//! credentials are configured.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, Tokio1Executor,
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use secrecy::ExposeSecret;

use crate::config::{Config, SmtpSecurity};

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// How long one SMTP exchange may take before it counts as failed (and is retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub fn transport(config: &Config) -> anyhow::Result<Transport> {
    let host = config.smtp_host.as_str();
    let tls = || TlsParameters::new(host.to_owned());
    let builder = match config.smtp_security {
        SmtpSecurity::None => Transport::builder_dangerous(host),
        SmtpSecurity::StartTls => Transport::builder_dangerous(host).tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => Transport::builder_dangerous(host).tls(Tls::Wrapper(tls()?)),
    };
    let mut builder = builder.port(config.smtp_port).timeout(Some(SMTP_TIMEOUT));
    if let (Some(username), Some(password)) = (&config.smtp_username, &config.smtp_password) {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}
