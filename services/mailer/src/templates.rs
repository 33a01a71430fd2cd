//! The platform's mails, as plain text and HTML. Every value put into HTML is escaped.

use livestreamer_proto::events::{MailJob, MailKind};

#[derive(Debug, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render(job: &MailJob) -> Option<RenderedMail> {
    let name = &job.username;
    let link = &job.link;
    let (subject, lines, action) = match MailKind::try_from(job.kind).ok()? {
        MailKind::ConfirmEmail => (
            "Confirm your email address",
            vec![
                format!("Hi {name},"),
                "Welcome to LiveStreamer! Please confirm your email address to finish signing up."
                    .to_owned(),
                "The link is valid for 24 hours.".to_owned(),
            ],
            "Confirm my email",
        ),
        MailKind::EmailConfirmed => (
            "Your email address is confirmed",
            vec![
                format!("Hi {name},"),
                "Your email address is confirmed: you can sign in, schedule broadcasts and go live."
                    .to_owned(),
            ],
            "Sign in",
        ),
        MailKind::ResetPassword => (
            "Reset your password",
            vec![
                format!("Hi {name},"),
                "Someone asked to reset the password of your LiveStreamer account. If it was you, \
                 choose a new password within the hour; if not, ignore this mail."
                    .to_owned(),
            ],
            "Choose a new password",
        ),
        MailKind::Unspecified => return None,
    };
    let text = format!(
        "{}\n\n{action}: {link}\n\n— LiveStreamer\n",
        lines.join("\n\n")
    );
    let paragraphs: String = lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape(l)))
        .collect();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">{paragraphs}\
         <p><a href=\"{href}\">{action}</a></p><p>— LiveStreamer</p></body></html>",
        href = escape(link),
    );
    Some(RenderedMail {
        subject: subject.to_owned(),
        text,
        html,
    })
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: MailKind, username: &str) -> MailJob {
        MailJob {
            idempotency_key: "k".into(),
            kind: kind as i32,
            to: "dj@example.com".into(),
            username: username.into(),
            link: "http://localhost:8080/verify?token=abc&x=1".into(),
        }
    }

    #[test]
    fn the_confirmation_mail_carries_the_link_in_both_parts() {
        let mail = render(&job(MailKind::ConfirmEmail, "dj")).unwrap();
        assert_eq!(mail.subject, "Confirm your email address");
        assert!(
            mail.text
                .contains("http://localhost:8080/verify?token=abc&x=1")
        );
        assert!(
            mail.html
                .contains("href=\"http://localhost:8080/verify?token=abc&amp;x=1\"")
        );
    }

    #[test]
    fn markup_in_a_username_is_escaped() {
        let mail = render(&job(MailKind::EmailConfirmed, "<b>x</b>")).unwrap();
        assert!(mail.html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!mail.html.contains("<b>x</b>"));
    }

    #[test]
    fn an_unknown_kind_renders_nothing() {
        assert_eq!(render(&job(MailKind::Unspecified, "dj")), None);
        let mut unknown = job(MailKind::ConfirmEmail, "dj");
        unknown.kind = 99;
        assert_eq!(render(&unknown), None);
    }
}
