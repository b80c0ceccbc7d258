-- Foundation schema: tenants, calls, leads, conversations, messages, opt-outs,
-- webhook dedupe and the audit trail. Every tenant-owned row carries business_id.

-- Phone numbers are E.164 everywhere; the database refuses anything else.
create domain e164 as text check (value ~ '^\+[1-9][0-9]{6,14}$');

create table businesses (
    id                    uuid primary key default gen_random_uuid(),
    name                  text not null check (length(btrim(name)) > 0),
    owner_name            text not null check (length(btrim(owner_name)) > 0),
    owner_phone           e164 not null,
    owner_email           text not null check (owner_email like '%_@_%'),
    business_phone        e164 not null,
    twilio_number         e164 not null unique,
    twilio_account_sid    text not null,
    -- AES-256-GCM with NMC_SECRET_KEY; never returned by the API, never logged.
    twilio_auth_token_enc text not null,
    timezone              text not null,
    call_mode             text not null check (call_mode in ('dial_through', 'forwarded')),
    greeting              text,
    after_hours_greeting  text,
    business_hours        jsonb not null,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now()
);

create table leads (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    phone            e164 not null,
    name             text,
    address          text,
    service_needed   text,
    urgency          text check (urgency in ('emergency', 'soon', 'flexible', 'unknown')),
    status           text not null default 'new' check (status in (
                         'new', 'contacted', 'qualifying', 'qualified', 'booked', 'completed',
                         'unresponsive', 'opted_out', 'undeliverable', 'lost')),
    source           text not null default 'missed_call' check (source in ('missed_call', 'inbound_sms', 'manual')),
    last_error_code  integer,
    notes            text,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    unique (business_id, phone)
);
create index leads_business_status on leads (business_id, status);

create table calls (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    twilio_call_sid  text not null unique,
    -- Null when the caller withheld their number: nothing to text back.
    caller_phone     e164,
    lead_id          uuid references leads(id),
    status           text not null check (status in ('ringing', 'answered', 'missed')),
    dial_status      text,
    is_after_hours   boolean not null default false,
    -- A missed call while the caller's conversation was already open: no second text.
    is_repeat        boolean not null default false,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index calls_business_created on calls (business_id, created_at desc);

create table conversations (
    -- The id of the workflow run that owns it.
    id               uuid primary key,
    business_id      uuid not null references businesses(id),
    lead_id          uuid not null references leads(id),
    workflow_id      text not null,
    status           text not null default 'active' check (status in (
                         'active', 'closed_idle', 'closed_opted_out', 'closed_undeliverable', 'closed_manual')),
    closed_at        timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index conversations_business_status on conversations (business_id, status);

create table messages (
    id                  uuid primary key default gen_random_uuid(),
    business_id         uuid not null references businesses(id),
    lead_id             uuid not null references leads(id),
    -- Inbound texts are stored by the webhook before any workflow has seen them.
    conversation_id     uuid references conversations(id),
    direction           text not null check (direction in ('inbound', 'outbound')),
    sender              text not null check (sender in ('caller', 'system', 'assistant', 'owner')),
    kind                text not null,
    from_phone          e164 not null,
    to_phone            e164 not null,
    body                text not null,
    -- Outbound only: one row per intended text, so a re-run activity finds its earlier attempt.
    idempotency_key     text unique,
    twilio_message_sid  text unique,
    status              text not null check (status in (
                            -- ours: pending (recorded), dispatching (a send attempt is in flight),
                            -- suppressed (opted out); the rest are Twilio's own statuses.
                            'pending', 'dispatching', 'suppressed', 'received', 'accepted', 'scheduled',
                            'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'canceled')),
    error_code          integer,
    error_message       text,
    send_started_at     timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
create index messages_business_created on messages (business_id, created_at desc);
create index messages_conversation on messages (conversation_id, created_at);

-- Every delivery status Twilio reported, kept even when it arrives before we stored the sid.
create table message_status_events (
    id                  bigint generated always as identity primary key,
    business_id         uuid not null references businesses(id),
    twilio_message_sid  text not null,
    status              text not null,
    error_code          integer,
    created_at          timestamptz not null default now(),
    unique (twilio_message_sid, status)
);

create table opt_outs (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    phone        e164 not null,
    source       text not null default 'stop_keyword' check (source in ('stop_keyword', 'carrier', 'owner')),
    -- The STOP text that created it: a retried webhook for that text still earns its one confirmation.
    source_message_sid text,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    unique (business_id, phone)
);

-- One row per Twilio delivery we acted on: a retried webhook is recognised here.
create table webhook_events (
    id            uuid primary key default gen_random_uuid(),
    business_id   uuid not null references businesses(id),
    kind          text not null,
    provider_sid  text not null,
    -- Set once the workflow has the event; a retry of an unsignalled event signals again.
    signalled_at  timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    unique (kind, provider_sid)
);

create table audit_log (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid references businesses(id),
    entity_type  text not null,
    entity_id    uuid,
    action       text not null,
    details      jsonb not null default '{}',
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index audit_business_created on audit_log (business_id, created_at desc);

-- Rank of a message status: a late callback never moves a message backwards.
create function message_status_rank(s text) returns int language sql immutable as $$
    select case s
        when 'pending' then 0 when 'dispatching' then 1 when 'accepted' then 2 when 'scheduled' then 2
        when 'queued' then 3 when 'sending' then 4 when 'sent' then 5
        when 'delivered' then 9 when 'undelivered' then 9 when 'failed' then 9 when 'canceled' then 9
        when 'suppressed' then 9 when 'received' then 9 when 'read' then 10 else -1 end
$$;
