//! Against the real Redis of the test stack (`./dev infra up it`, `eval "$(./dev env it)"`).

use super::*;

fn audience(prefix: &str, replica: &str) -> Audience {
    let pool = service_kit::redis::pool(&test_support::redis_url()).unwrap();
    Audience::new(pool, prefix, replica.to_owned())
}

#[tokio::test]
async fn counts_add_up_over_replicas_and_the_peak_stays() {
    let prefix = format!("{}:", test_support::unique_name());
    let (a, b) = (audience(&prefix, "a"), audience(&prefix, "b"));
    assert_eq!(
        a.report(1, 3).await.unwrap(),
        Counts {
            current: 3,
            peak: 3
        }
    );
    assert_eq!(
        b.report(1, 4).await.unwrap(),
        Counts {
            current: 7,
            peak: 7
        }
    );
    assert_eq!(
        a.report(1, 0).await.unwrap(),
        Counts {
            current: 4,
            peak: 7
        }
    );
    assert_eq!(
        a.report(2, 1).await.unwrap(),
        Counts {
            current: 1,
            peak: 1
        },
        "broadcasts are apart"
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_a_hang() {
    let pool = service_kit::redis::pool("redis://127.0.0.1:1/").unwrap();
    let audience = Audience::new(pool, "x:", "a".into());
    let started = std::time::Instant::now();
    assert!(audience.report(1, 1).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
}
