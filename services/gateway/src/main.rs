use service_kit::{shutdown::Shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("gateway");
    let config = gateway::Config::from_env()?;
    gateway::run(config, Shutdown::on_signals()).await
}
