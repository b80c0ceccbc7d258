//! What a caller, or a business, may ask of the data we hold (CCPA/GDPR): everything about one
//! caller in one export; a caller erased everywhere except the opt-out record (kept, number
//! only, because the law needs it); a business's whole export. Each action is audited.

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// Whether `phone` is one of the business's own: its NeverMissCall number, its phone, the
/// owner's, a member's alert phone. Those are never a caller to export or erase.
pub async fn is_own_number(db: &mut PgConnection, business_id: Uuid, phone: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from businesses where id = $1
                          and $2 in (twilio_number::text, business_phone::text, owner_phone::text))
             or exists (select 1 from alert_preferences where business_id = $1 and phone::text = $2)",
    )
    .bind(business_id)
    .bind(phone)
    .fetch_one(db)
    .await?)
}

/// Everything held about the caller at `phone`, table by table.
pub async fn caller_export(db: &mut PgConnection, business_id: Uuid, phone: &str) -> Result<Value> {
    let q = |sql: &'static str| {
        sqlx::query_scalar::<_, Value>(sql)
            .bind(business_id)
            .bind(phone)
    };
    let leads = q("select coalesce(jsonb_agg(to_jsonb(l) - 'business_id'), '[]') from leads l where business_id = $1 and phone::text = $2")
        .fetch_one(&mut *db).await?;
    let calls = q("select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'at', c.created_at, 'status', c.status, 'after_hours', c.is_after_hours, 'dial_status', c.dial_status) order by c.created_at), '[]')
                   from calls c where business_id = $1 and caller_phone::text = $2")
        .fetch_one(&mut *db).await?;
    let messages = q("select coalesce(jsonb_agg(jsonb_build_object('at', m.created_at, 'direction', m.direction, 'from', m.from_phone, 'to', m.to_phone,
                          'body', m.body, 'status', m.status, 'kind', m.kind) order by m.created_at), '[]')
                      from messages m where business_id = $1 and (from_phone::text = $2 or to_phone::text = $2)")
        .fetch_one(&mut *db).await?;
    let appointments = q("select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'start', lower(a.during), 'end', upper(a.during), 'status', a.status,
                              'service', a.service_name, 'name', a.customer_name, 'address', a.address, 'notes', a.notes) order by lower(a.during)), '[]')
                          from appointments a where business_id = $1 and (customer_phone::text = $2
                              or lead_id in (select id from leads where business_id = $1 and phone::text = $2))")
        .fetch_one(&mut *db).await?;
    let opt_outs = q("select coalesce(jsonb_agg(jsonb_build_object('at', o.created_at, 'opted_in_at', o.opted_in_at)), '[]')
                      from opt_outs o where business_id = $1 and phone::text = $2")
        .fetch_one(&mut *db).await?;
    let ai_calls = q("select coalesce(jsonb_agg(jsonb_build_object('at', a.created_at, 'outcome', a.outcome, 'summary', a.summary,
                          'transcript', a.transcript, 'collected', a.structured, 'recording_url', a.recording_url) order by a.created_at), '[]')
                      from agent_calls a where business_id = $1 and caller_phone::text = $2")
        .fetch_one(&mut *db).await?;
    Ok(json!({
        "phone": phone, "leads": leads, "calls": calls, "messages": messages,
        "appointments": appointments, "opt_outs": opt_outs, "ai_voice_calls": ai_calls,
    }))
}

/// What an erasure removed; the workflows whose histories go too.
#[derive(Debug, Default, serde::Serialize)]
pub struct Erased {
    pub leads: u64,
    pub calls: u64,
    pub messages: u64,
    pub conversations: u64,
    pub appointments_anonymised: u64,
    /// The appointments cleared: their calendars get the new version.
    pub appointment_ids: Vec<Uuid>,
    pub notifications: u64,
    pub workflow_ids: Vec<String>,
    /// Their voicemails' stored copies, for the caller to delete once this commits.
    pub recording_keys: Vec<String>,
    /// Their voicemails Twilio may still hold (not yet deleted there), by RecordingSid.
    pub twilio_recordings: Vec<String>,
}

/// Erases the caller at `phone`: leads, calls, conversations, texts, alerts about them, the
/// live feed's events and the webhook record; appointments keep their time (the job may still
/// happen) with the personal fields cleared and a new version, so the calendars we pushed to
/// get the cleared copy. The opt-out stays, number only.
pub async fn erase_caller(db: &mut PgConnection, business_id: Uuid, phone: &str) -> Result<Erased> {
    // Locked first: a text or alert its (terminating) workflow is still writing waits, then
    // finds its conversation gone, rather than slipping in between our deletes.
    let leads: Vec<Uuid> = sqlx::query_scalar(
        "select id from leads where business_id = $1 and phone::text = $2 for update",
    )
    .bind(business_id)
    .bind(phone)
    .fetch_all(&mut *db)
    .await?;
    let convs: Vec<(Uuid, String)> = sqlx::query_as(
        "select id, workflow_id from conversations where business_id = $1 and lead_id = any($2) for update",
    )
    .bind(business_id)
    .bind(&leads)
    .fetch_all(&mut *db)
    .await?;
    let conv_ids: Vec<Uuid> = convs.iter().map(|c| c.0).collect();
    // The live feed's events name rows by id: every id of the caller's, as text.
    let feed_ids: Vec<String> = sqlx::query_scalar(
        "select id::text from calls where business_id = $1 and (caller_phone::text = $2 or lead_id = any($3))
         union all select id::text from messages where business_id = $1 and (conversation_id = any($4) or lead_id = any($3))
         union all select unnest($3::uuid[])::text union all select unnest($4::uuid[])::text")
        .bind(business_id).bind(phone).bind(&leads).bind(&conv_ids).fetch_all(&mut *db).await?;
    let mut e = Erased {
        workflow_ids: convs.into_iter().map(|c| c.1).collect(),
        ..Erased::default()
    };
    // Alerts about the caller, with their deliveries and read marks.
    let notices: Vec<Uuid> = sqlx::query_scalar(
        "select id from notifications where business_id = $1 and (conversation_id = any($2) or lead_id = any($3)) for update")
        .bind(business_id).bind(&conv_ids).bind(&leads).fetch_all(&mut *db).await?;
    for table in ["alert_deliveries", "notification_reads"] {
        sqlx::query(&format!(
            "delete from {table} where notification_id = any($1)"
        ))
        .bind(&notices)
        .execute(&mut *db)
        .await?;
    }
    e.notifications = sqlx::query("delete from notifications where id = any($1)")
        .bind(&notices)
        .execute(&mut *db)
        .await?
        .rows_affected();
    sqlx::query("delete from team_texts where business_id = $1 and conversation_id = any($2)")
        .bind(business_id)
        .bind(&conv_ids)
        .execute(&mut *db)
        .await?;
    e.appointment_ids = sqlx::query_scalar(
        "update appointments set customer_name = null, customer_phone = null, address = null, notes = null,
             lead_id = null, conversation_id = null, version = version + 1, updated_at = now()
         where business_id = $1 and (lead_id = any($2) or customer_phone::text = $3) returning id")
        .bind(business_id).bind(&leads).bind(phone).fetch_all(&mut *db).await?;
    e.appointments_anonymised = e.appointment_ids.len() as u64;
    // Their texts are those of their leads and conversations, never "any text to or from the
    // number" (the business's own number is on every one).
    let theirs = "business_id = $1 and (conversation_id = any($2) or lead_id = any($3))";
    sqlx::query(&format!(
        "delete from message_status_events where business_id = $1 and twilio_message_sid in
                          (select twilio_message_sid from messages where {theirs})"
    ))
    .bind(business_id)
    .bind(&conv_ids)
    .bind(&leads)
    .execute(&mut *db)
    .await?;
    e.messages = sqlx::query(&format!("delete from messages where {theirs}"))
        .bind(business_id)
        .bind(&conv_ids)
        .bind(&leads)
        .execute(&mut *db)
        .await?
        .rows_affected();
    (e.recording_keys, e.twilio_recordings) = erase_voice(db, business_id, phone, &leads).await?;
    e.calls = sqlx::query("delete from calls where business_id = $1 and (caller_phone::text = $2 or lead_id = any($3))")
        .bind(business_id).bind(phone).bind(&leads).execute(&mut *db).await?.rows_affected();
    sqlx::query("delete from events where business_id = $1 and (data->>'id' = any($2) or data->>'lead_id' = any($2)
                 or data->>'conversation_id' = any($2) or data->>'call_id' = any($2))")
        .bind(business_id).bind(&feed_ids).execute(&mut *db).await?;
    sqlx::query("delete from review_requests where business_id = $1 and phone::text = $2")
        .bind(business_id)
        .bind(phone)
        .execute(&mut *db)
        .await?;
    crate::crm::erase_caller(db, business_id, phone, &leads).await?;
    sqlx::query("delete from webhook_events where business_id = $1 and caller_phone::text = $2")
        .bind(business_id)
        .bind(phone)
        .execute(&mut *db)
        .await?;
    e.conversations = sqlx::query("delete from conversations where id = any($1)")
        .bind(&conv_ids)
        .execute(&mut *db)
        .await?
        .rows_affected();
    e.leads = sqlx::query("delete from leads where id = any($1)")
        .bind(&leads)
        .execute(&mut *db)
        .await?
        .rows_affected();
    crate::audit(&mut *db, business_id, "caller", None, "caller_erased",
        json!({"phone": nmc_domain::phone::mask(phone), "removed": {"leads": e.leads, "calls": e.calls, "messages": e.messages}})).await?;
    Ok(e)
}

/// The caller's voicemails (their stored copies' keys, and the sids of those Twilio may still
/// hold, come back to delete after the commit) and what Lookup said about their line.
async fn erase_voice(
    db: &mut PgConnection,
    business_id: Uuid,
    phone: &str,
    leads: &[Uuid],
) -> Result<(Vec<String>, Vec<String>)> {
    let gone: Vec<(Option<String>, String, bool)> = sqlx::query_as(
        "delete from recordings where business_id = $1 and (caller_phone::text = $2 or lead_id = any($3))
         returning storage_key, twilio_recording_sid, twilio_deleted_at is null",
    )
    .bind(business_id)
    .bind(phone)
    .bind(leads)
    .fetch_all(&mut *db)
    .await?;
    sqlx::query("delete from line_checks where business_id = $1 and phone::text = $2")
        .bind(business_id)
        .bind(phone)
        .execute(&mut *db)
        .await?;
    // The AI voice agent's calls with them (the recording stays in the business's Vapi
    // account, which the owner controls).
    sqlx::query("delete from agent_calls where business_id = $1 and (caller_phone::text = $2 or lead_id = any($3))")
        .bind(business_id)
        .bind(phone)
        .bind(leads)
        .execute(&mut *db)
        .await?;
    let keys = gone.iter().filter_map(|g| g.0.clone()).collect();
    let at_twilio = gone.into_iter().filter(|g| g.2).map(|g| g.1).collect();
    Ok((keys, at_twilio))
}

/// Every row the business owns, table by table (for its own export before it leaves).
pub async fn business_export(db: &mut PgConnection, business_id: Uuid) -> Result<Value> {
    let mut out = serde_json::Map::new();
    for table in [
        "leads",
        "calls",
        "conversations",
        "messages",
        "appointments",
        "catalog_items",
        "faqs",
        "technicians",
        "notifications",
        "opt_outs",
        "crm_pushes",
        "audit_log",
    ] {
        let rows: Value = sqlx::query_scalar(&format!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by t.created_at), '[]') from {table} t where business_id = $1"
        ))
        .bind(business_id)
        .fetch_one(&mut *db)
        .await?;
        out.insert(table.to_owned(), rows);
    }
    let business: Value = sqlx::query_scalar(
        "select to_jsonb(b) - 'twilio_auth_token_enc' - 'slack_webhook_enc' - 'ics_token_enc' - 'ics_token_hash'
         from businesses b where id = $1",
    )
    .bind(business_id)
    .fetch_one(&mut *db)
    .await?;
    out.insert("business".into(), business);
    crate::audit(
        &mut *db,
        business_id,
        "business",
        None,
        "business_exported",
        json!({}),
    )
    .await?;
    Ok(Value::Object(out))
}

/// The conversation workflows of the caller at `phone` (their histories go with an erasure).
pub async fn caller_workflows(
    db: &mut PgConnection,
    business_id: Uuid,
    phone: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select c.workflow_id from conversations c join leads l on l.id = c.lead_id
         where c.business_id = $1 and l.phone::text = $2",
    )
    .bind(business_id)
    .bind(phone)
    .fetch_all(db)
    .await?)
}

/// Who exported whom, for the audit log (the number masked).
pub async fn audit_export(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    phone: &str,
) -> Result<()> {
    crate::audit(
        db,
        business_id,
        "user",
        Some(user_id),
        "caller_exported",
        json!({"phone": nmc_domain::phone::mask(phone)}),
    )
    .await
}

/// The workflows whose histories hold the business's callers: conversations and appointments.
pub async fn business_workflows(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select workflow_id from conversations where business_id = $1
         union all select 'appointment-' || id::text from appointments where business_id = $1",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?)
}

/// Deletes the business's account: every caller erased, every member, session, connection and
/// setting gone, the row left as a tombstone without personal data (its opt-outs and audit log
/// stay, as the law and the record need). Returns the sealed calendar tokens to revoke.
pub async fn delete_business(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<Vec<(String, Option<String>, Option<String>)>> {
    let phones: Vec<String> = sqlx::query_scalar(
        "select phone::text from leads where business_id = $1 union select caller_phone::text from calls where business_id = $1 and caller_phone is not null",
    )
    .bind(business_id)
    .fetch_all(&mut *db)
    .await?;
    for phone in &phones {
        erase_caller(db, business_id, phone).await?;
    }
    let calendars: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "select provider, access_token_enc, refresh_token_enc from calendar_connections where business_id = $1",
    )
    .bind(business_id)
    .fetch_all(&mut *db)
    .await?;
    for table in [
        "alert_deliveries",
        "notification_reads",
        "notifications",
        "team_texts",
        "calendar_syncs",
        "external_busy",
        "review_requests",
        "crm_attempts",
        "crm_pushes",
        "crm_contacts",
        "crm_connections",
        "appointments",
        "catalog_items",
        "faqs",
        "technicians",
        "schedule_rules",
        "calendar_connections",
        "push_subscriptions",
        "alert_preferences",
        "phone_verifications",
        "forwarding_tests",
        "agent_calls",
        "voice_agents",
        "recordings",
        "line_checks",
        "blocked_callers",
        "routing_holidays",
        "routing_rules",
        "oauth_states",
        "password_resets",
        "invites",
        "refresh_tokens",
        "sessions",
        "users",
        "events",
        "outbound_emails",
        "webhook_events",
        "message_status_events",
        "messages",
        "calls",
        "conversations",
        "leads",
    ] {
        sqlx::query(&format!("delete from {table} where business_id = $1"))
            .bind(business_id)
            .execute(&mut *db)
            .await?;
    }
    sqlx::query(
        "update businesses set name = 'Deleted business', owner_name = 'Deleted', owner_phone = '+10000000000',
             owner_email = 'deleted-' || id || '@invalid', business_phone = null, twilio_number = null,
             twilio_account_sid = null, twilio_auth_token_enc = null, slack_webhook_enc = null,
             greeting = null, after_hours_greeting = null, messaging_registration = null,
             voicemail_greeting = null, voicemail_audio_key = null, voicemail_audio_type = null,
             ics_token_enc = null, ics_token_hash = null,
             deleted_at = now(), updated_at = now()
         where id = $1",
    )
    .bind(business_id)
    .execute(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "business",
        Some(business_id),
        "account_deleted",
        json!({"callers_erased": phones.len()}),
    )
    .await?;
    Ok(calendars)
}

/// The business's NeverMissCall number and the Twilio account it is on.
pub async fn number_and_account(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<(Option<String>, Option<String>)> {
    Ok(sqlx::query_as(
        "select twilio_number::text, twilio_account_sid from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}
