use service_kit::{shutdown::Shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("chat");
    let config = chat::Config::from_env()?;
    chat::run(config, Shutdown::on_signals()).await
}
