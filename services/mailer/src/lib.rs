//! The mailer: consumes mail jobs from RabbitMQ, renders them, and sends them over SMTP. A job is
//! acked only once the SMTP server accepted its mail, so a crash or an SMTP outage loses nothing;
//! a job that can never be sent goes to the dead-letter queue `<queue>.dead` with the reason.
//! Jobs are handled one at a time: mail is not latency-critical, and a single worker per replica
//! makes the retry pause a real pause for the SMTP server.

pub mod config;
pub mod dead_letters;
pub mod metrics;
pub mod sender;
pub mod smtp;
pub mod templates;

use std::sync::Arc;

use livestreamer_proto::events::{MailJob, routing};
use prost::Message;
use service_kit::{
    amqp::{self, ConsumerState, EventBus, Outcome, QueueSpec},
    backoff::Backoff,
    health::{self, Readiness},
    redis, serve,
    shutdown::Shutdown,
};
use tokio::{net::TcpListener, sync::Mutex};

pub use config::Config;

pub fn queue(name: &str) -> QueueSpec {
    QueueSpec {
        name: name.to_owned(),
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
    metrics::register();
    let smtp = smtp::transport(&config)?;
    let dead_letters = Arc::new(dead_letters::DeadLetters::new(
        &config.amqp_url,
        &config.queue,
    ));
    let sender = sender::MailSender {
        smtp: smtp.clone(),
        redis: redis.clone(),
        redis_prefix: config.redis_prefix.clone(),
        from: config.from.parse()?,
        dead_letters: dead_letters.clone(),
        max_attempts: config.max_attempts.max(1),
        backoff: Arc::new(Mutex::new(Backoff::new(
            config.retry_first,
            config.retry_max,
        ))),
        retry_first: config.retry_first,
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
        queue(&config.queue),
        consumer,
        shutdown.clone(),
        move |delivery| {
            let sender = sender.clone();
            let dead_letters = dead_letters.clone();
            async move {
                match MailJob::decode(delivery.data.as_slice()) {
                    Ok(job) => sender.handle(job, &delivery.data).await,
                    Err(error) => {
                        let reason = format!("undecodable mail job: {error}");
                        match dead_letters.put(&delivery.data, &reason, 1).await {
                            Ok(()) => Outcome::Ack,
                            Err(_) => Outcome::Reject,
                        }
                    }
                }
            }
        },
    ));

    serve::serve(listener, health::router(readiness), shutdown).await
}
