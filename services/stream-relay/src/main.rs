use service_kit::{shutdown::Shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("stream-relay");
    let config = stream_relay::Config::from_env()?;
    stream_relay::run(config, Shutdown::on_signals()).await
}
