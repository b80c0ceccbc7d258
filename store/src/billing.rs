//! The business's subscription as Stripe's webhooks describe it, and the events already
//! applied (each once). The worker reads the gate through [`SERVED`].

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;

/// SQL: whether business `b` may send automated texts (see `domain::billing::gate`).
pub const SERVED: &str = "(b.billing_status is null or b.billing_status in ('trialing', 'active')
    or (b.billing_status = 'past_due' and (b.billing_grace_until is null or b.billing_grace_until > now())))";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Billing {
    pub status: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub trial_end: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub cancel_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub owner_email: String,
    pub name: String,
}

pub async fn get(db: &mut PgConnection, business_id: Uuid) -> Result<Billing> {
    Ok(sqlx::query_as(
        "select billing_status as status, stripe_customer_id, stripe_subscription_id, billing_trial_end as trial_end,
                billing_period_end as period_end, billing_cancel_at as cancel_at,
                billing_grace_until as grace_until, owner_email, name
         from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}

pub async fn set_customer(db: &mut PgConnection, business_id: Uuid, customer: &str) -> Result<()> {
    sqlx::query("update businesses set stripe_customer_id = $2 where id = $1")
        .bind(business_id)
        .bind(customer)
        .execute(db)
        .await?;
    Ok(())
}

/// Records a Stripe event; false when it was applied before (Stripe delivers at least once).
pub async fn first_time(
    tx: &mut Transaction<'_, Postgres>,
    id: &str,
    kind: &str,
    created: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "insert into stripe_events (id, type, created_at) values ($1, $2, $3) on conflict (id) do nothing",
    )
    .bind(id)
    .bind(kind)
    .bind(created)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The business an event is about: named in the metadata we set, or by its Stripe customer.
pub async fn business_for(
    tx: &mut Transaction<'_, Postgres>,
    named: Option<Uuid>,
    customer: Option<&str>,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "select id from businesses where id = $1 or (stripe_customer_id is not null and stripe_customer_id = $2)
         order by id = $1 desc limit 1",
    )
    .bind(named)
    .bind(customer)
    .fetch_optional(&mut **tx)
    .await?)
}

/// A subscription as an event shows it.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub trial_end: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub cancel_at: Option<DateTime<Utc>>,
}

/// Applies a subscription event unless a newer one was applied already (events arrive out of
/// order; an equal second is applied, as it may be the later of the two). A first decline
/// starts the grace period; good standing ends it.
pub async fn apply_subscription(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    s: &Subscription,
    event_created: DateTime<Utc>,
    grace_days: i32,
) -> Result<bool> {
    let updated = sqlx::query(
        "update businesses set billing_status = $2, stripe_subscription_id = $3,
             stripe_customer_id = coalesce(stripe_customer_id, $4), billing_trial_end = $5,
             billing_period_end = $6, billing_cancel_at = $7, billing_event_at = $8,
             billing_grace_until = case when $2 = 'past_due'
                                        then coalesce(billing_grace_until, now() + make_interval(days => $9))
                                        when $2 in ('trialing', 'active') then null
                                        else billing_grace_until end
         where id = $1 and (billing_event_at is null or billing_event_at <= $8)",
    )
    .bind(business_id)
    .bind(&s.status)
    .bind(&s.id)
    .bind(&s.customer)
    .bind(s.trial_end)
    .bind(s.period_end)
    .bind(s.cancel_at)
    .bind(event_created)
    .bind(grace_days)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Checkout finished: the business's customer (and its subscription, whose own events bring
/// the status).
pub async fn checked_out(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    customer: &str,
    subscription: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "update businesses set stripe_customer_id = $2,
             stripe_subscription_id = coalesce($3, stripe_subscription_id)
         where id = $1",
    )
    .bind(business_id)
    .bind(customer)
    .bind(subscription)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A payment was declined: the grace period starts now, if it has not already.
pub async fn payment_failed(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    grace_days: i32,
) -> Result<()> {
    sqlx::query(
        "update businesses set billing_grace_until = coalesce(billing_grace_until, now() + make_interval(days => $2))
         where id = $1",
    )
    .bind(business_id)
    .bind(grace_days)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Notes which business an event was about, for the record.
pub async fn attribute(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    business_id: Uuid,
) -> Result<()> {
    sqlx::query("update stripe_events set business_id = $2 where id = $1")
        .bind(event_id)
        .bind(business_id)
        .execute(&mut **tx)
        .await?;
    crate::audit(
        &mut **tx,
        business_id,
        "stripe",
        None,
        "billing_event",
        serde_json::json!({ "event": event_id }),
    )
    .await
}
