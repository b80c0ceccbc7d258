//! What the Twilio webhooks record. Each function is one transaction and is safe to repeat:
//! Twilio retries, and a retry must have no second effect. The webhook row is also an outbox:
//! it keeps the signal for the caller's workflow, and the worker sends any the API could not.

use nmc_domain::routing::Method;
use nmc_domain::{BusinessProfile, CallerEvent, E164, InboundSms, Keyword, MissedCall};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;

/// A recorded event that the caller's workflow must hear about.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event_id: Uuid,
    /// An earlier delivery of the same webhook already reached the workflow.
    pub already_signalled: bool,
    /// What to signal (as first recorded: a redelivery signals the same thing).
    pub signal: CallerEvent,
}

pub(crate) async fn upsert_lead(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    phone: &E164,
    source: &str,
) -> Result<Uuid> {
    // `do update` (a no-op write) so the id comes back whether the lead is new or not.
    Ok(sqlx::query_scalar(
        "insert into leads (business_id, phone, source) values ($1, $2, $3)
         on conflict (business_id, phone) do update set updated_at = leads.updated_at
         returning id",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(source)
    .fetch_one(&mut **tx)
    .await?)
}

pub(crate) async fn record_event(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    sid: &str,
    caller: &E164,
    signal: CallerEvent,
) -> Result<Recorded> {
    let kind = match signal {
        CallerEvent::Missed(_) => "missed_call",
        CallerEvent::Texted(_) => "inbound_sms",
        CallerEvent::Voicemail(_) => "voicemail",
        CallerEvent::AgentCall(_) => "agent_call",
    };
    let json = serde_json::to_value(&signal).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let (event_id, signalled, stored): (Uuid, Option<chrono::DateTime<chrono::Utc>>, Option<serde_json::Value>) = sqlx::query_as(
        "insert into webhook_events (business_id, kind, provider_sid, caller_phone, signal) values ($1, $2, $3, $4, $5)
         on conflict (business_id, kind, provider_sid) do update set updated_at = now()
         returning id, signalled_at, signal",
    )
    .bind(business_id)
    .bind(kind)
    .bind(sid)
    .bind(caller.as_str())
    .bind(&json)
    .fetch_one(&mut **tx)
    .await?;
    let signal = stored
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or(signal);
    Ok(Recorded {
        event_id,
        already_signalled: signalled.is_some(),
        signal,
    })
}

/// A call is ringing through to the business (dial-through mode). Only the first delivery counts.
pub async fn record_ringing_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: Option<&E164>,
    after_hours: bool,
) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, status, is_after_hours)
         values ($1, $2, $3, 'ringing', $4) on conflict (business_id, twilio_call_sid) do nothing",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.map(E164::as_str))
    .bind(after_hours)
    .execute(pool)
    .await?;
    Ok(())
}

/// The business picked up (and, when screened, pressed the key): recorded as answered with how
/// long the call lasted, nothing else happens.
pub async fn record_answered_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: Option<&E164>,
    dial_status: &str,
    after_hours: bool,
    answered_secs: Option<i32>,
) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, status, dial_status, is_after_hours, answered_secs)
         values ($1, $2, $3, 'answered', $4, $5, $6)
         on conflict (business_id, twilio_call_sid) do update
             set status = 'answered', dial_status = excluded.dial_status, answered_secs = excluded.answered_secs, updated_at = now()",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.map(E164::as_str))
    .bind(dial_status)
    .bind(after_hours)
    .bind(answered_secs)
    .execute(pool)
    .await?;
    Ok(())
}

/// A missed call from a caller we can text back: the call, the lead and the outbox row, in one
/// transaction.
#[allow(
    clippy::too_many_arguments,
    reason = "one webhook's fields, recorded in one transaction"
)]
pub async fn record_missed_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: &E164,
    dial_status: &str,
    after_hours: bool,
    profile: BusinessProfile,
    route: Method,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    let known = known_caller(&mut tx, business_id, call_sid, caller, &profile.timezone).await?;
    let lead_id = upsert_lead(&mut tx, business_id, caller, "missed_call").await?;
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, lead_id, status, dial_status, is_after_hours, route)
         values ($1, $2, $3, $4, 'missed', $5, $6, $7)
         on conflict (business_id, twilio_call_sid) do update
             set status = 'missed', dial_status = excluded.dial_status, lead_id = excluded.lead_id,
                 route = excluded.route, updated_at = now()",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.as_str())
    .bind(lead_id)
    .bind(dial_status)
    .bind(after_hours)
    .bind(route.as_str())
    .execute(&mut *tx)
    .await?;
    let signal = CallerEvent::Missed(MissedCall {
        call_sid: call_sid.to_owned(),
        profile,
        voicemail: route == Method::Voicemail,
        agent: route == Method::AiVoice,
        known,
    });
    let rec = record_event(&mut tx, business_id, call_sid, caller, signal).await?;
    tx.commit().await?;
    Ok(rec)
}

/// What we know of a caller from before this call: their name and last job from an earlier
/// conversation, and whether they called earlier today (the business's day).
async fn known_caller(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    call_sid: &str,
    caller: &E164,
    timezone: &str,
) -> Result<Option<nmc_domain::KnownCaller>> {
    // The business's day began at local midnight (worked out here, so the calls index serves).
    let today = nmc_domain::hours::parse_timezone(timezone).map_or_else(
        || chrono::Utc::now() - chrono::Duration::hours(24),
        |tz| nmc_domain::hours::local_midnight(tz, chrono::Utc::now()),
    );
    // The latest job is the lead's current one until a new conversation moves it to
    // `last_service`.
    let row: Option<(Option<String>, Option<String>, bool)> = sqlx::query_as(
        "select l.name, coalesce(l.service_needed, l.last_service),
                exists (select 1 from calls c
                        where c.business_id = $1 and c.caller_phone = $2 and c.twilio_call_sid <> $3
                          and c.status = 'missed' and c.created_at >= $4)
         from leads l
         where l.business_id = $1 and l.phone = $2
           and exists (select 1 from conversations c where c.lead_id = l.id)",
    )
    .bind(business_id)
    .bind(caller.as_str())
    .bind(call_sid)
    .bind(today)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|(name, last_service, called_today)| {
        (name.is_some() || called_today).then_some(nmc_domain::KnownCaller {
            name,
            last_service,
            called_today,
        })
    }))
}

/// A missed call from a withheld number: recorded, nobody to text.
pub async fn record_missed_call_anonymous(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    dial_status: &str,
    after_hours: bool,
) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, status, dial_status, is_after_hours)
         values ($1, $2, 'missed', $3, $4)
         on conflict (business_id, twilio_call_sid) do update set status = 'missed', dial_status = excluded.dial_status, updated_at = now()",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(dial_status)
    .bind(after_hours)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_signalled(pool: &PgPool, event_id: Uuid) -> Result<()> {
    sqlx::query("update webhook_events set signalled_at = now(), updated_at = now() where id = $1 and signalled_at is null")
        .bind(event_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A recorded call or text whose signal has not reached the caller's workflow.
#[derive(Debug, Clone)]
pub struct Unsignalled {
    pub event_id: Uuid,
    pub business_id: Uuid,
    pub caller: E164,
    pub signal: CallerEvent,
}

/// The outbox: events recorded more than `older_than_secs` ago and still not signalled (the API
/// signals at once; this finds what it could not), oldest first.
pub async fn unsignalled(
    pool: &PgPool,
    older_than_secs: i64,
    limit: i64,
) -> Result<Vec<Unsignalled>> {
    let rows: Vec<(Uuid, Uuid, String, serde_json::Value)> = sqlx::query_as(
        "select id, business_id, caller_phone, signal from webhook_events
         where signalled_at is null and signal is not null and caller_phone is not null and outbox_error is null
           and created_at < now() - make_interval(secs => $1)
         order by created_at limit $2",
    )
    .bind(older_than_secs as f64)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut pending = Vec::with_capacity(rows.len());
    for (event_id, business_id, caller, signal) in rows {
        let decoded = E164::parse(&caller)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                Ok((
                    c,
                    serde_json::from_value(signal).map_err(|e| e.to_string())?,
                ))
            });
        match decoded {
            Ok((caller, signal)) => pending.push(Unsignalled {
                event_id,
                business_id,
                caller,
                signal,
            }),
            Err(why) => {
                tracing::error!(%event_id, %business_id, error = %why, "webhook outbox: unreadable signal set aside");
                sqlx::query(
                    "update webhook_events set outbox_error = $2, updated_at = now() where id = $1",
                )
                .bind(event_id)
                .bind(why)
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(pending)
}

#[derive(Debug, Clone)]
pub struct RecordedSms {
    pub event: Recorded,
    pub message_id: Uuid,
    /// What the text means for consent here: START/YES/UNSTOP re-subscribe only a number that is
    /// opted out; from anyone else they are an ordinary answer (`None`).
    pub keyword: Option<Keyword>,
    /// For STOP: this very text created the opt-out (so it earns the one confirmation).
    pub newly_opted_out: bool,
}

/// A text from a caller. It is stored before anything else happens; an opt-out or opt-in updates
/// the opt-out list in the same transaction so it is honoured at once.
#[allow(
    clippy::too_many_arguments,
    reason = "one webhook's fields, recorded in one transaction"
)]
pub async fn record_inbound_sms(
    pool: &PgPool,
    business_id: Uuid,
    message_sid: &str,
    from: &E164,
    to: &E164,
    body: &str,
    read_as: Option<Keyword>,
    profile: BusinessProfile,
) -> Result<RecordedSms> {
    let mut tx = pool.begin().await?;
    let lead_id = upsert_lead(&mut tx, business_id, from, "inbound_sms").await?;
    let opted_out = opt_out_in_force(&mut tx, business_id, from).await?;
    let keyword = match read_as {
        Some(Keyword::OptIn) if !opted_out => None,
        other => other,
    };
    let (message_id, first_delivery): (Uuid, bool) = sqlx::query_as(
        "insert into messages (business_id, lead_id, direction, sender, kind, from_phone, to_phone, body, twilio_message_sid, status)
         values ($1, $2, 'inbound', 'caller', $3, $4, $5, $6, $7, 'received')
         on conflict (business_id, twilio_message_sid) do update set updated_at = messages.updated_at
         returning id, (xmax = 0)",
    )
    .bind(business_id)
    .bind(lead_id)
    .bind(match keyword {
        Some(Keyword::OptOut) => "opt_out",
        Some(Keyword::OptIn) => "opt_in",
        Some(Keyword::Help) => "help",
        None => "text",
    })
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(body)
    .bind(message_sid)
    .fetch_one(&mut *tx)
    .await?;

    // Consent moves only with the first delivery: a redelivered START must not lift a later STOP.
    let newly_opted_out = match keyword.filter(|_| first_delivery) {
        Some(Keyword::OptOut) => {
            opt_out(
                &mut tx,
                business_id,
                from,
                "stop_keyword",
                Some(message_sid),
            )
            .await?
        }
        Some(Keyword::OptIn) => {
            opt_in(&mut tx, business_id, lead_id, from, message_sid).await?;
            false
        }
        _ => false,
    };
    let sms = InboundSms {
        message_sid: message_sid.to_owned(),
        message_id,
        keyword,
        newly_opted_out,
        profile,
        message_text: Some(body.to_owned()),
    };
    let event = record_event(
        &mut tx,
        business_id,
        message_sid,
        from,
        CallerEvent::Texted(sms),
    )
    .await?;
    tx.commit().await?;
    // A redelivery reports what the first delivery decided (the opt-out list has moved on since).
    let (keyword, newly_opted_out) = match &event.signal {
        CallerEvent::Texted(first) => (first.keyword, first.newly_opted_out),
        CallerEvent::Missed(_) | CallerEvent::Voicemail(_) | CallerEvent::AgentCall(_) => {
            (keyword, newly_opted_out)
        }
    };
    Ok(RecordedSms {
        event,
        message_id,
        keyword,
        newly_opted_out,
    })
}

/// The assistant read a revocation the keywords missed ("please quit messaging this number").
/// True when this created the opt-out (the caller is confirmed once).
pub async fn opt_out_read_by_assistant(
    pool: &PgPool,
    business_id: Uuid,
    phone: &E164,
    message_sid: &str,
) -> Result<bool> {
    // No lead is made here: the caller may have been erased while the assistant read them.
    let mut tx = pool.begin().await?;
    let created = opt_out(&mut tx, business_id, phone, "assistant", Some(message_sid)).await?;
    sqlx::query("update messages set kind = 'opt_out', updated_at = now() where business_id = $1 and twilio_message_sid = $2 and direction = 'inbound'")
        .bind(business_id)
        .bind(message_sid)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(created)
}

async fn opt_out_in_force(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    phone: &E164,
) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists (select 1 from opt_outs where business_id = $1 and phone = $2 and opted_in_at is null)")
        .bind(business_id)
        .bind(phone.as_str())
        .fetch_one(&mut **tx)
        .await?)
}

/// Puts the number on the opt-out list (once: an opt-out in force stays as it is). True when
/// this call created it, so the caller is confirmed once.
pub(crate) async fn opt_out(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    phone: &E164,
    source: &str,
    message_sid: Option<&str>,
) -> Result<bool> {
    let created: bool = sqlx::query_scalar(
        "insert into opt_outs (business_id, phone, source, source_message_sid) values ($1, $2, $3, $4)
         on conflict (business_id, phone) where opted_in_at is null do update set updated_at = opt_outs.updated_at
         returning (xmax = 0) or source_message_sid is not distinct from $4",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(source)
    .bind(message_sid)
    .fetch_one(&mut **tx)
    .await?;
    let lead_id: Option<Uuid> = sqlx::query_scalar(
        "update leads set status = 'opted_out', updated_at = now() where business_id = $1 and phone = $2 returning id",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    if created {
        crate::audit(
            &mut **tx,
            business_id,
            "lead",
            lead_id,
            "opted_out",
            serde_json::json!({"message_sid": message_sid, "source": source}),
        )
        .await?;
    }
    Ok(created)
}

/// Re-subscribes an opted-out number. The opt-out row stays, stamped with when and by which text.
async fn opt_in(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    lead_id: Uuid,
    phone: &E164,
    message_sid: &str,
) -> Result<()> {
    let lifted = sqlx::query(
        "update opt_outs set opted_in_at = now(), opted_in_message_sid = $3, updated_at = now()
         where business_id = $1 and phone = $2 and opted_in_at is null",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(message_sid)
    .execute(&mut **tx)
    .await?;
    if lifted.rows_affected() > 0 {
        sqlx::query("update leads set status = 'contacted', updated_at = now() where id = $1 and status = 'opted_out'")
            .bind(lead_id)
            .execute(&mut **tx)
            .await?;
        crate::audit(
            &mut **tx,
            business_id,
            "lead",
            Some(lead_id),
            "opted_in",
            serde_json::json!({"message_sid": message_sid}),
        )
        .await?;
    }
    Ok(())
}

/// A delivery status from Twilio. Kept as an event (it may arrive before we know the sid),
/// and applied to the message only if it moves it forward.
pub async fn record_message_status(
    pool: &PgPool,
    business_id: Uuid,
    message_sid: &str,
    status: &str,
    error_code: Option<i32>,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "insert into message_status_events (business_id, twilio_message_sid, status, error_code) values ($1, $2, $3, $4)
         on conflict (business_id, twilio_message_sid, status) do nothing",
    )
    .bind(business_id)
    .bind(message_sid)
    .bind(status)
    .bind(error_code)
    .execute(&mut *tx)
    .await?;
    apply_status(&mut tx, business_id, message_sid, status, error_code).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn apply_status(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    message_sid: &str,
    status: &str,
    error_code: Option<i32>,
) -> Result<()> {
    sqlx::query(
        "update messages set status = $3, error_code = coalesce($4, error_code), updated_at = now()
         where business_id = $1 and twilio_message_sid = $2 and message_status_rank($3) > message_status_rank(status)",
    )
    .bind(business_id)
    .bind(message_sid)
    .bind(status)
    .bind(error_code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
