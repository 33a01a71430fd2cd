use service_kit::{shutdown::Shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("auth");
    let config = auth::Config::from_env()?;
    auth::run(config, Shutdown::on_signals()).await
}
