//! What every LiveStreamer service does the same way, and only that.
//!
//! Each module is one concept: reading configuration from the environment, tracing, the shutdown
//! signal, health endpoints, serving HTTP (and gRPC, which is HTTP/2 on the same port), gRPC client
//! channels, trace propagation across processes, PostgreSQL pools and migrations, Redis pools, the RabbitMQ event exchange, and the internal token that auth signs and
//! every other service verifies.

pub mod amqp;
pub mod backoff;
pub mod cache;
pub mod clock;
pub mod config;
pub mod grpc_client;
pub mod health;
pub mod internal_token;
pub mod metrics;
pub mod postgres;
pub mod rate_limit;
pub mod redis;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;
