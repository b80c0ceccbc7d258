-- The conversation: per-business assistant settings, what the assistant learns about a lead,
-- who is in charge of a conversation, and the owner's notifications.

alter table businesses
    add column owner_window_secs   integer not null default 60 check (owner_window_secs between 0 and 600),
    add column assistant_disclosure boolean not null default true,
    -- 2 h / 24 h / 72 h after the last message we sent before the caller went quiet.
    add column follow_up_secs      integer[] not null default '{7200,86400,259200}'
        check (cardinality(follow_up_secs) <= 5 and 0 < all(follow_up_secs)),
    add column quiet_start         time not null default '21:00',
    add column quiet_end           time not null default '08:00';

alter table leads
    add column trade           text,
    add column preferred_time  text,
    -- Fields the owner edited: the assistant never overwrites them.
    add column owner_edited    text[] not null default '{}',
    -- What they needed last time, kept when a new conversation starts a new job.
    add column last_service    text,
    add column qualified_at    timestamptz;

alter table conversations
    add column mode        text not null default 'assistant' check (mode in ('assistant', 'owner')),
    add column emergency   boolean not null default false,
    add column needs_owner boolean not null default false;
alter table conversations drop constraint conversations_status_check;
alter table conversations add constraint conversations_status_check check (status in (
    'active', 'closed_idle', 'closed_opted_out', 'closed_undeliverable', 'closed_manual',
    'closed_no_response', 'closed_stale'));

create table notifications (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    conversation_id  uuid references conversations(id),
    lead_id          uuid references leads(id),
    -- caller_text | emergency | needs_owner | qualified
    kind             text not null,
    priority         boolean not null default false,
    body             text not null,
    -- One notification per event, however often the activity runs.
    idempotency_key  text not null unique,
    read_at          timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index notifications_business_created on notifications (business_id, created_at desc);
