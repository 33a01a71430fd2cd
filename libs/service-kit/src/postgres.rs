//! PostgreSQL: a connection pool, and the migrations of one service's schema.
//!
//! Each service owns one schema (auth, chat, broadcasts) and applies its own SQL files at start, in
//! order, each once, inside a transaction, under an advisory lock so that replicas starting together do
//! not race. The files are compiled into the binary, so an image needs nothing beside it.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

/// One migration: a name that orders it, and its SQL.
pub type Migration = (&'static str, &'static str);

pub fn pool(url: &str) -> anyhow::Result<Pool> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| anyhow::anyhow!("invalid database URL: {e}"))?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager).max_size(16).build()?)
}

/// Applies the migrations not yet applied to `schema`.
pub async fn migrate(pool: &Pool, schema: &str, migrations: &[Migration]) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&schema])
        .await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
             name text PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await?;
    for (name, sql) in migrations {
        let applied = tx
            .query_opt(
                &format!("SELECT 1 FROM {schema}.schema_migrations WHERE name = $1"),
                &[name],
            )
            .await?
            .is_some();
        if applied {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(|e| anyhow::anyhow!("migration {schema}/{name} failed: {e}"))?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_migrations (name) VALUES ($1)"),
            &[name],
        )
        .await?;
        tracing::info!(schema, migration = name, "applied migration");
    }
    tx.commit().await?;
    Ok(())
}

/// A readiness check: the pool hands out a connection that answers.
pub async fn ping(pool: &Pool) -> Result<(), String> {
    let client = pool.get().await.map_err(|e| e.to_string())?;
    client
        .simple_query("SELECT 1")
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Applies the migrations as soon as PostgreSQL answers (retrying with backoff, logging each
/// failure), then marks the service started. The server is already listening meanwhile, reporting
/// not-ready, so a missing database shows on `/readyz` instead of in a crash loop.
pub fn migrate_then_mark_started(
    pool: Pool,
    schema: &'static str,
    migrations: &'static [Migration],
    readiness: crate::health::Readiness,
    shutdown: crate::shutdown::Shutdown,
) {
    tokio::spawn(async move {
        let what = format!("migrating schema {schema}");
        let done =
            crate::backoff::retry_until_ok(&what, &shutdown, || migrate(&pool, schema, migrations))
                .await;
        if done.is_some() {
            readiness.mark_started();
        }
    });
}
