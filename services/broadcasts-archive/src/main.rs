use service_kit::{shutdown::Shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("broadcasts-archive");
    let config = broadcasts_archive::Config::from_env()?;
    broadcasts_archive::run(config, Shutdown::on_signals()).await
}
