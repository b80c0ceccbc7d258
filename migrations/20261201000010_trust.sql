-- Trust fixes (issue 12): opt-out history, the webhook outbox, per-business uniqueness, and the
-- indexes the hot paths need.

-- Opt-outs keep their history: re-subscribing stamps the row, never deletes it. At most one
-- opt-out per number is in force (opted_in_at is null).
alter table opt_outs drop constraint opt_outs_business_id_phone_key;
alter table opt_outs
    add column opted_in_at timestamptz,
    add column opted_in_message_sid text;
create unique index opt_outs_in_force on opt_outs (business_id, phone) where opted_in_at is null;
alter table opt_outs drop constraint opt_outs_source_check;
alter table opt_outs add constraint opt_outs_source_check check (source in ('stop_keyword', 'carrier', 'owner', 'assistant'));

-- The webhook row is an outbox: what to signal is kept with it, so the worker can signal it
-- again when the API could not (Temporal away), and no recorded event waits for a redelivery.
alter table webhook_events
    add column caller_phone e164,
    add column signal jsonb,
    -- A signal this version cannot read: kept for an operator, skipped so it blocks nothing newer.
    add column outbox_error text;
create index webhook_events_unsignalled on webhook_events (created_at) where signalled_at is null and signal is not null and outbox_error is null;

-- Provider sids and idempotency keys are unique per business: one tenant's webhook (signed with
-- its own Twilio account) can never collide with, or claim, another tenant's row.
alter table webhook_events drop constraint webhook_events_kind_provider_sid_key;
alter table webhook_events add constraint webhook_events_business_kind_sid unique (business_id, kind, provider_sid);
alter table calls drop constraint calls_twilio_call_sid_key;
alter table calls add constraint calls_business_call_sid unique (business_id, twilio_call_sid);
alter table messages drop constraint messages_twilio_message_sid_key;
alter table messages add constraint messages_business_message_sid unique (business_id, twilio_message_sid);
alter table messages drop constraint messages_idempotency_key_key;
alter table messages add constraint messages_business_idempotency_key unique (business_id, idempotency_key);
alter table message_status_events drop constraint message_status_events_twilio_message_sid_status_key;
alter table message_status_events add constraint message_status_events_business_sid_status unique (business_id, twilio_message_sid, status);
alter table notifications drop constraint notifications_idempotency_key_key;
alter table notifications add constraint notifications_business_idempotency_key unique (business_id, idempotency_key);
alter table appointments drop constraint appointments_idempotency_key_key;
alter table appointments add constraint appointments_business_idempotency_key unique (business_id, idempotency_key);
-- Status callbacks and reconciliation still look a sid up on its own.
create index messages_message_sid on messages (twilio_message_sid) where twilio_message_sid is not null;

-- The greeting path reads a lead's open conversation; the dashboard reads a lead's thread.
create index conversations_lead on conversations (lead_id, created_at desc);
create index messages_business_lead_created on messages (business_id, lead_id, created_at desc);
create index sessions_user on sessions (user_id);
create index refresh_tokens_session on refresh_tokens (session_id);
create index refresh_tokens_expires on refresh_tokens (expires_at);
create index sessions_updated on sessions (updated_at);
create index login_failures_updated on login_failures (updated_at);

-- Why a caller's lead ended without a job, as the assistant read it (wrong_number | declined):
-- such an answer is not a recovery. Cleared when the caller starts a new conversation.
alter table leads add column lost_reason text check (lost_reason in ('wrong_number', 'declined'));
