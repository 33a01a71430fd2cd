//! Starts the real thing for tests: each test gets a fresh PostgreSQL database, its own Redis key
//! prefix and its own RabbitMQ exchange, on the servers that the test command started (their addresses
//! come from the same `LIVESTREAMER_*` variables the services read).

pub mod metrics;
pub mod rabbitmq;
pub mod tcp_proxy;

use tokio_postgres::NoTls;

/// The URL of the test stack's PostgreSQL (the database in it is replaced per test).
pub fn database_url() -> String {
    std::env::var("LIVESTREAMER_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://livestreamer:livestreamer@127.0.0.1:25532/livestreamer".to_owned()
    })
}

pub fn redis_url() -> String {
    std::env::var("LIVESTREAMER_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:26479/".to_owned())
}

pub fn amqp_url() -> String {
    std::env::var("LIVESTREAMER_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:25772/%2f".to_owned())
}

/// A short unique name for this test's database, key prefix and exchange.
pub fn unique_name() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database() -> String {
    let admin_url = database_url();
    let (client, connection) = tokio_postgres::connect(&admin_url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {admin_url}: {e} (run the tests with ./dev test, or start it with ./dev infra up test)"));
    tokio::spawn(connection);
    let name = unique_name();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a database URL ends with /<database>");
    format!("{base}/{name}")
}

/// Listens on a test's exchange for the events a service publishes, through an exclusive queue.
pub struct EventTap {
    _connection: lapin::Connection,
    consumer: lapin::Consumer,
}

impl EventTap {
    /// Declares `exchange` (as the services do) and binds a private queue to `binding`.
    pub async fn bind(exchange: &str, binding: &str) -> Self {
        Self::bind_on(&amqp_url(), exchange, binding).await
    }

    /// The same on the broker at `url` (a `rabbitmq::PrivateBroker`, say).
    pub async fn bind_on(url: &str, exchange: &str, binding: &str) -> Self {
        use lapin::{options::*, types::FieldTable};
        let connection = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
            .await
            .expect("cannot reach the test RabbitMQ (run the tests with ./dev test)");
        let channel = connection.create_channel().await.expect("a channel");
        channel
            .exchange_declare(
                exchange.into(),
                lapin::ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare the exchange");
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare a queue");
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                binding.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the queue");
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("consume");
        Self {
            _connection: connection,
            consumer,
        }
    }

    /// The next event's routing key and payload; panics after 10 s.
    pub async fn next(&mut self) -> (String, Vec<u8>) {
        use futures_util::StreamExt;
        let delivery =
            tokio::time::timeout(std::time::Duration::from_secs(10), self.consumer.next())
                .await
                .expect("an event within 10 s")
                .expect("the consumer is open")
                .expect("a delivery");
        (delivery.routing_key.to_string(), delivery.data)
    }
}

/// Waits until the service on `addr` answers `GET /readyz` with 200; panics after 15 s.
pub async fn wait_until_ready(addr: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for _ in 0..150 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            let request = b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(request).await;
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            if response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{addr} did not become ready within 15 s");
}
