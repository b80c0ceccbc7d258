//! No double-booking, enforced by PostgreSQL itself (tstzrange + GiST exclusion per technician).

use chrono::{DateTime, Duration, Utc};
use nmc_store::booking::{self, Booked, NewAppointment};
use nmc_tests::database_with_business;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn slot(tech: uuid::Uuid, start: &str, minutes: i64) -> NewAppointment<'static> {
    let start = at(start);
    NewAppointment {
        technician_id: tech,
        start,
        end: start + Duration::minutes(minutes),
        price_cents: Some(14900),
        ..Default::default()
    }
}

#[tokio::test]
async fn fifty_concurrent_bookings_for_one_slot_exactly_one_wins() {
    let (pool, business) = database_with_business(60).await;
    let tech = nmc_store::scheduling::add_technician(
        &mut nmc_store::conn(&pool).await.unwrap(),
        business,
        "Alex",
        None,
    )
    .await
    .unwrap();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (pool, barrier) = (pool.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                booking::book(
                    &mut nmc_store::conn(&pool).await.unwrap(),
                    business,
                    &slot(tech, "2026-12-01T15:00:00Z", 90),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let results: Vec<Booked> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let won = results
        .iter()
        .filter(|r| matches!(r, Booked::Booked(_)))
        .count();
    let refused = results.iter().filter(|r| **r == Booked::SlotTaken).count();
    assert_eq!((won, refused), (1, 49), "exactly one booking commits");
    let stored: i64 = sqlx::query_scalar("select count(*) from appointments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn overlaps_are_refused_and_everything_else_is_allowed() {
    let (pool, business) = database_with_business(5).await;
    let alex = nmc_store::scheduling::add_technician(
        &mut nmc_store::conn(&pool).await.unwrap(),
        business,
        "Alex",
        None,
    )
    .await
    .unwrap();
    let sam = nmc_store::scheduling::add_technician(
        &mut nmc_store::conn(&pool).await.unwrap(),
        business,
        "Sam",
        None,
    )
    .await
    .unwrap();
    let first = booking::book(
        &mut nmc_store::conn(&pool).await.unwrap(),
        business,
        &slot(alex, "2026-12-01T15:00:00Z", 60),
    )
    .await
    .unwrap();
    let Booked::Booked(first_id) = first else {
        panic!("{first:?}")
    };
    // A partial overlap is refused; back-to-back is fine; another technician is fine.
    assert_eq!(
        booking::book(
            &mut nmc_store::conn(&pool).await.unwrap(),
            business,
            &slot(alex, "2026-12-01T15:30:00Z", 60)
        )
        .await
        .unwrap(),
        Booked::SlotTaken
    );
    assert!(matches!(
        booking::book(
            &mut nmc_store::conn(&pool).await.unwrap(),
            business,
            &slot(alex, "2026-12-01T16:00:00Z", 60)
        )
        .await
        .unwrap(),
        Booked::Booked(_)
    ));
    assert!(matches!(
        booking::book(
            &mut nmc_store::conn(&pool).await.unwrap(),
            business,
            &slot(sam, "2026-12-01T15:00:00Z", 60)
        )
        .await
        .unwrap(),
        Booked::Booked(_)
    ));
    // A cancelled appointment does not block its slot.
    assert!(
        booking::cancel(
            &mut nmc_store::conn(&pool).await.unwrap(),
            business,
            first_id
        )
        .await
        .unwrap()
    );
    assert!(matches!(
        booking::book(
            &mut nmc_store::conn(&pool).await.unwrap(),
            business,
            &slot(alex, "2026-12-01T15:00:00Z", 60)
        )
        .await
        .unwrap(),
        Booked::Booked(_)
    ));
    // The same intent books once.
    let keyed = NewAppointment {
        idempotency_key: Some("book:SM1"),
        ..slot(sam, "2026-12-02T15:00:00Z", 60)
    };
    let a = booking::book(&mut nmc_store::conn(&pool).await.unwrap(), business, &keyed)
        .await
        .unwrap();
    let b = booking::book(&mut nmc_store::conn(&pool).await.unwrap(), business, &keyed)
        .await
        .unwrap();
    assert_eq!(a, b);
    // Another tenant cannot book this business's technician.
    let other_business: uuid::Uuid = sqlx::query_scalar(
        "insert into businesses (name, owner_name, owner_phone, owner_email, business_phone, twilio_number, twilio_account_sid,
             twilio_auth_token_enc, timezone, call_mode, business_hours)
         select 'Other Co', owner_name, owner_phone, owner_email, business_phone, '+15009990001', 'ACy', 'sealed', timezone, call_mode, business_hours
         from businesses where id = $1 returning id",
    )
    .bind(business)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(matches!(
        booking::book(
            &mut nmc_store::conn(&pool).await.unwrap(),
            other_business,
            &slot(alex, "2026-12-03T15:00:00Z", 60)
        )
        .await,
        Err(nmc_store::StoreError::NotFound)
    ));
    let count: i64 = sqlx::query_scalar("select count(*) from appointments where business_id = $1")
        .bind(other_business)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Even a write that skips the application cannot overlap.
    let raw = sqlx::query(
        "insert into appointments (business_id, technician_id, during) values ($1, $2, tstzrange('2026-12-01T16:30:00Z', '2026-12-01T17:30:00Z'))",
    )
    .bind(business)
    .bind(alex)
    .execute(&pool)
    .await;
    assert!(
        raw.unwrap_err()
            .to_string()
            .contains("appointments_no_overlap")
    );
}

#[tokio::test]
async fn a_business_adopts_a_starter_catalog_once_and_keeps_its_edits() {
    let (pool, business) = database_with_business(2).await;
    let added = booking::adopt_starter_catalog(
        &mut nmc_store::conn(&pool).await.unwrap(),
        business,
        "plumbing",
    )
    .await
    .unwrap();
    assert_eq!(added, nmc_assistant::catalog::starter("plumbing").len());
    sqlx::query("update catalog_items set price_cents = 9900, price_min_cents = null, price_max_cents = null where name = 'Sink Clog'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        booking::adopt_starter_catalog(
            &mut nmc_store::conn(&pool).await.unwrap(),
            business,
            "plumbing"
        )
        .await
        .unwrap(),
        0,
        "adopting again adds nothing"
    );
    let price: Option<i32> =
        sqlx::query_scalar("select price_cents from catalog_items where name = 'Sink Clog'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(price, Some(9900), "the owner's edit stands");
    // The database refuses a catalog item with no price at all.
    let bad = sqlx::query("insert into catalog_items (business_id, name, duration_minutes) values ($1, 'Mystery', 60)").bind(business).execute(&pool).await;
    assert!(bad.is_err());
}
