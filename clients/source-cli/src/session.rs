//! The saved session: `sess.sid` in `<config dir>/livestreamer/session.json`, mode 0600.

use std::{io::Write, os::unix::fs::OpenOptionsExt, path::PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, results};

#[derive(Debug, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub username: String,
    pub cookie: String,
}

fn path() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .context("neither XDG_CONFIG_HOME nor HOME is set")?;
    Ok(base.join("livestreamer").join("session.json"))
}

pub fn load(api: &Api) -> anyhow::Result<Session> {
    let path = path()?;
    let text = std::fs::read_to_string(&path).map_err(|_| {
        anyhow::anyhow!("you are not signed in: run `livestreamer-source login` first")
    })?;
    let session: Session = serde_json::from_str(&text)
        .with_context(|| format!("{} is damaged: log in again", path.display()))?;
    if session.server != api.base {
        bail!(
            "your session is for {}, not {}: log in again with --server {}",
            session.server,
            api.base,
            api.base
        );
    }
    Ok(session)
}

fn save(session: &Session) -> anyhow::Result<()> {
    let path = path()?;
    std::fs::create_dir_all(path.parent().expect("a parent folder"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(serde_json::to_string_pretty(session)?.as_bytes())?;
    Ok(())
}

pub async fn login(api: &Api, username: Option<String>) -> anyhow::Result<()> {
    let login = match username {
        Some(name) => name,
        None => prompt("Username or email: ")?,
    };
    let password = match std::env::var("BROADCASTER_PASSWORD") {
        Ok(password) => password,
        Err(_) => rpassword::prompt_password("Password: ")?,
    };
    let field = if login.contains('@') {
        "email"
    } else {
        "username"
    };
    let response = api
        .http
        .post(api.url("/api/v1/sessions"))
        .json(&json!({ field: login, "password": password }))
        .send()
        .await?;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sess.sid="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let user = results(response).await?;
    let cookie = cookie.context("the server set no session cookie")?;
    let username = user["username"].as_str().unwrap_or_default().to_owned();
    save(&Session {
        server: api.base.clone(),
        username: username.clone(),
        cookie,
    })?;
    println!("Signed in as {username}.");
    Ok(())
}

pub async fn logout(api: &Api) -> anyhow::Result<()> {
    let session = load(api)?;
    let response = api
        .http
        .delete(api.url("/api/v1/sessions"))
        .header("cookie", &session.cookie)
        .send()
        .await?;
    if !(response.status().is_success() || response.status() == 401) {
        results(response).await?;
    }
    std::fs::remove_file(path()?)?;
    println!("Signed out.");
    Ok(())
}

pub async fn whoami(api: &Api) -> anyhow::Result<()> {
    let session = load(api)?;
    let response = api
        .http
        .get(api.url("/api/v1/users/me"))
        .header("cookie", &session.cookie)
        .send()
        .await?;
    let user = results(response).await?;
    println!(
        "{} <{}> on {}",
        user["username"].as_str().unwrap_or("?"),
        user["email"].as_str().unwrap_or("?"),
        api.base
    );
    Ok(())
}

fn prompt(question: &str) -> anyhow::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let answer = line.trim().to_owned();
    anyhow::ensure!(!answer.is_empty(), "nothing entered");
    Ok(answer)
}
