use service_kit::{shutdown::Shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("mailer");
    let config = mailer::Config::from_env()?;
    mailer::run(config, Shutdown::on_signals()).await
}
