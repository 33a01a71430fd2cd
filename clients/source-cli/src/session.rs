//! The saved session: `sess.sid` in `<config dir>/livestreamer/session.json`, mode 0600, so that
//! `stream` and `schedule` run without asking for the password again, and no other local user can
//! read the cookie.

use std::{io::Write, os::unix::fs::OpenOptionsExt, path::PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    api::{Api, api_message, results},
    error::CliError,
};

#[derive(Debug, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub username: String,
    pub cookie: String,
}

fn path() -> Result<PathBuf, CliError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or_else(|| CliError::Usage("Neither XDG_CONFIG_HOME nor HOME is set.".into()))?;
    Ok(base.join("livestreamer").join("session.json"))
}

pub fn load(api: &Api) -> Result<Session, CliError> {
    let path = path()?;
    let not_signed_in = || {
        CliError::NotSignedIn(
            "You are not signed in: run `livestreamer-source login` first.".into(),
        )
    };
    let text = std::fs::read_to_string(&path).map_err(|_| not_signed_in())?;
    let session: Session = serde_json::from_str(&text).map_err(|_| not_signed_in())?;
    if session.server != api.base {
        return Err(CliError::NotSignedIn(format!(
            "Your session is for {}, not {}: run `livestreamer-source --server {} login`.",
            session.server, api.base, api.base
        )));
    }
    Ok(session)
}

fn save(session: &Session) -> Result<(), CliError> {
    let path = path()?;
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("a parent folder"))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(serde_json::to_string_pretty(session)?.as_bytes())
    };
    write().map_err(|error| {
        CliError::Internal(format!(
            "Cannot save the session in {}: {error}.",
            path.display()
        ))
    })
}

pub async fn login(api: &Api, username: Option<String>) -> Result<(), CliError> {
    let login = match username {
        Some(name) => name,
        None => prompt("Username or email: ")?,
    };
    let password = match std::env::var("BROADCASTER_PASSWORD") {
        Ok(password) => password,
        Err(_) => rpassword::prompt_password("Password: ")
            .map_err(|error| CliError::Usage(format!("Cannot read the password: {error}.")))?,
    };
    let field = if login.contains('@') {
        "email"
    } else {
        "username"
    };
    let response = api
        .send(
            api.http
                .post(api.url("/api/v1/sessions"))
                .json(&json!({ field: login, "password": password })),
        )
        .await?;
    let status = response.status();
    if status == 401 || status == 403 {
        let text = response.text().await.unwrap_or_default();
        let message = api_message(&serde_json::from_str(&text).unwrap_or_default(), &text);
        return Err(if status == 401 {
            CliError::WrongCredentials(format!("Wrong username, email or password ({message})."))
        } else {
            CliError::Refused(message)
        });
    }
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sess.sid="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let user = results(api, response).await?;
    let cookie = cookie.ok_or_else(|| CliError::ServerError("it set no session cookie.".into()))?;
    let username = user["username"].as_str().unwrap_or_default().to_owned();
    save(&Session {
        server: api.base.clone(),
        username: username.clone(),
        cookie,
    })?;
    println!("Signed in as {username}.");
    Ok(())
}

pub async fn logout(api: &Api) -> Result<(), CliError> {
    let session = load(api)?;
    let response = api
        .send(
            api.http
                .delete(api.url("/api/v1/sessions"))
                .header("cookie", &session.cookie),
        )
        .await?;
    if !(response.status().is_success() || response.status() == 401) {
        results(api, response).await?;
    }
    std::fs::remove_file(path()?).map_err(CliError::internal)?;
    println!("Signed out.");
    Ok(())
}

pub async fn whoami(api: &Api) -> Result<(), CliError> {
    let session = load(api)?;
    let response = api
        .send(
            api.http
                .get(api.url("/api/v1/users/me"))
                .header("cookie", &session.cookie),
        )
        .await?;
    let user = results(api, response).await?;
    println!(
        "{} <{}> on {}",
        user["username"].as_str().unwrap_or("?"),
        user["email"].as_str().unwrap_or("?"),
        api.base
    );
    Ok(())
}

fn prompt(question: &str) -> Result<String, CliError> {
    let read = || -> std::io::Result<String> {
        eprint!("{question}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim().to_owned())
    };
    match read() {
        Ok(answer) if !answer.is_empty() => Ok(answer),
        Ok(_) => Err(CliError::Usage("Nothing was entered.".into())),
        Err(error) => Err(CliError::Usage(format!("Cannot read the answer: {error}."))),
    }
}
