//! The mailer as a process, against the test stack's RabbitMQ and Redis and a maildev of its own,
//! killed and starved of its SMTP server on purpose: every mail arrives, once, but for the one send a
//! SIGKILL may catch between the SMTP server's 250 and the key written in Redis.

mod harness;

use std::time::Duration;

use harness::{FakeSmtp, Mail, Maildev, MailerProcess, Scenario, job};
use test_support::metrics::{sample, scrape};

#[tokio::test]
async fn a_burst_survives_a_sigkill_and_a_30_second_smtp_outage() {
    const JOBS: usize = 200;
    let scenario = Scenario::new().await;
    let maildev = Maildev::start(None).await;
    let mut mailer = MailerProcess::start(&scenario, maildev.smtp_port).await;
    mailer.wait_ready().await;
    for i in 0..JOBS {
        scenario.publish(&job(i)).await;
    }

    // Mid-burst: some mails are out, most are queued or in flight.
    let before_kill = maildev.wait_for_count(20, Duration::from_secs(30)).await;
    assert!(
        before_kill.len() < JOBS,
        "the burst was over before the kill"
    );
    mailer.kill();
    let delivered_first = maildev.mails().await;

    // The SMTP server goes away; a new mailer starts and has to wait for it.
    let smtp_port = maildev.smtp_port;
    maildev.kill();
    let mut restarted = MailerProcess::start(&scenario, smtp_port).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(restarted.is_running(), "the mailer survives the outage");
    let maildev = Maildev::start(Some(smtp_port)).await;

    // Every recipient served, counted by recipient: the one duplicate allowed below is a mail too,
    // so waiting for a number of mails could stop one genuine mail short.
    let every_recipient =
        |after: &[Mail]| distinct(&[&delivered_first[..], after].concat()) == JOBS;
    let delivered_after = maildev
        .wait_for(
            "every recipient served",
            Duration::from_secs(90),
            every_recipient,
        )
        .await;
    // Anything sent twice would arrive right behind: give it a moment.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered_after_settle = maildev.mails().await;
    assert_eq!(delivered_after.len(), delivered_after_settle.len());

    let mut all = delivered_first.clone();
    all.extend(delivered_after_settle);
    let mut counts = std::collections::BTreeMap::new();
    for mail in &all {
        *counts.entry(mail.to.clone()).or_insert(0) += 1;
    }
    let missing: Vec<usize> = (0..JOBS)
        .filter(|i| !counts.contains_key(&format!("listener{i}@example.com")))
        .collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    // The one send the kill may catch between the server's 250 and the key written in Redis (the
    // mailer sends one job at a time) goes again on redelivery, as sender.rs says; nothing else does.
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.len() <= 1, "delivered more than once: {twice:?}");
    for (to, n) in &twice {
        assert_eq!(**n, 2, "{to} delivered {n} times");
        let copies: Vec<&Mail> = all.iter().filter(|m| &m.to == *to).collect();
        assert!(
            delivered_first.iter().any(|m| &m.to == *to),
            "{to}'s first copy went out before the kill"
        );
        assert_eq!(
            copies[0].message_id, copies[1].message_id,
            "the copy is recognisably the same mail"
        );
    }
    assert_eq!(all.len(), JOBS + twice.len());
    assert_eq!(scenario.dead_letters().await, Vec::new());
    restarted.kill();
}

#[tokio::test]
async fn a_redelivered_job_is_sent_once() {
    let scenario = Scenario::new().await;
    let maildev = Maildev::start(None).await;
    let mut mailer = MailerProcess::start(&scenario, maildev.smtp_port).await;
    mailer.wait_ready().await;
    let same = job(7);
    for _ in 0..3 {
        scenario.publish(&same).await;
    }
    scenario.publish(&job(8)).await;
    let mails = maildev.wait_for_count(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mails_later = maildev.mails().await;
    assert_eq!(mails_later.len(), 2, "{mails:?}");
    let metrics = scrape(mailer.addr()).await;
    assert_eq!(sample(&metrics, "livestreamer_mail_sent_total"), Some(2.0));
    assert_eq!(
        sample(&metrics, "livestreamer_mail_duplicates_skipped_total"),
        Some(2.0)
    );
    assert_eq!(
        sample(&metrics, "livestreamer_mail_dead_lettered_total"),
        Some(0.0)
    );
    mailer.kill();
}

#[tokio::test]
async fn jobs_that_keep_failing_are_dead_lettered_with_the_reason() {
    let scenario = Scenario::new().await;
    // An SMTP server that defers every mail with 451.
    let smtp = FakeSmtp::deferring().await;
    let mut mailer = MailerProcess::start(&scenario, smtp.port).await;
    scenario.wait_for_queue().await;
    let mut unsendable = job(1);
    unsendable.to = "not an address".into();
    scenario.publish(&unsendable).await;
    scenario.publish(&job(2)).await;

    let dead = scenario
        .wait_for_dead_letters(2, Duration::from_secs(30))
        .await;
    let (first_reason, first_attempts) = &dead[0];
    assert!(first_reason.contains("invalid recipient"), "{first_reason}");
    assert_eq!(*first_attempts, 1);
    let (second_reason, second_attempts) = &dead[1];
    assert!(second_reason.contains("451"), "{second_reason}");
    assert_eq!(*second_attempts, 3, "MAILER_MAX_ATTEMPTS of the harness");
    let metrics = scrape(mailer.addr()).await;
    assert_eq!(
        sample(&metrics, "livestreamer_mail_dead_lettered_total"),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"livestreamer_mail_retried_total{cause="deferred"}"#
        ),
        Some(2.0),
        "two 451s before the third made it hopeless"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"livestreamer_mail_retried_total{cause="outage"}"#
        ),
        Some(0.0)
    );
    assert_eq!(sample(&metrics, "livestreamer_mail_sent_total"), Some(0.0));
    mailer.kill();
}

fn distinct(mails: &[harness::Mail]) -> usize {
    mails
        .iter()
        .map(|m| &m.to)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}
