//! The mailer: consumes mail jobs from RabbitMQ, renders them, and sends them over SMTP. A job is
//! acked only once the SMTP server accepted its mail, so a crash or an SMTP outage loses nothing;
//! a job that can never be sent goes to the dead-letter queue `mailer.jobs.dead`.

pub mod config;
pub mod sender;
pub mod templates;

use std::time::Duration;

use lettre::{AsyncSmtpTransport, Tokio1Executor};
use livestreamer_proto::events::{MailJob, routing};
use prost::Message;
use service_kit::{
    amqp::{self, ConsumerState, EventBus, Outcome, QueueSpec},
    health::{self, Readiness},
    redis, serve,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;

pub use config::Config;

/// A pause before a failed job is offered again, so an SMTP outage is not a busy loop.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

pub fn queue() -> QueueSpec {
    QueueSpec {
        name: "mailer.jobs".to_owned(),
        bindings: vec![routing::MAIL_SEND.to_owned()],
        prefetch: 8,
        dead_letter: true,
    }
}

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = serve::bind(&config.listen).await?;
    serve_on(listener, config, shutdown).await
}

pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let redis = redis::pool(&config.redis_url)?;
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host)
        .port(config.smtp_port)
        .timeout(Some(Duration::from_secs(20)))
        .build();
    let sender = sender::MailSender {
        smtp: smtp.clone(),
        redis: redis.clone(),
        redis_prefix: config.redis_prefix.clone(),
        from: config.from.parse()?,
    };
    let consumer = ConsumerState::default();
    let readiness = Readiness::new()
        .redis(redis)
        .consumer("rabbitmq", consumer.clone())
        .check("smtp", move || {
            let smtp = smtp.clone();
            async move {
                smtp.test_connection()
                    .await
                    .map_err(|e| e.to_string())
                    .map(|_| ())
            }
        });
    readiness.mark_started();

    let bus = EventBus::new(config.amqp_url, config.amqp_exchange);
    tokio::spawn(amqp::consume(
        bus,
        queue(),
        consumer,
        shutdown.clone(),
        move |delivery| {
            let sender = sender.clone();
            async move {
                let Ok(job) = MailJob::decode(delivery.data.as_slice()) else {
                    tracing::warn!("undecodable mail job, dead-lettering it");
                    return Outcome::Reject;
                };
                let outcome = sender.handle(job).await;
                if outcome == Outcome::Retry {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                outcome
            }
        },
    ));

    serve::serve(listener, health::router(readiness), shutdown).await
}
