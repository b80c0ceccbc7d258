-- Scheduling: per-business schedule rules, technicians' own hours, appointment details for texts
-- and calendars, calendar connections with their sync state, the Google busy-time projection, and
-- the secret iCalendar feed.

create table schedule_rules (
    business_id          uuid primary key references businesses(id),
    -- Monday first: seven lists of [open, close] shifts ("08:00"), several per day for split shifts.
    hours                jsonb not null,
    closures             date[] not null default '{}',
    buffer_minutes       integer not null default 30 check (buffer_minutes between 0 and 240),
    max_jobs_per_day     integer not null default 6 check (max_jobs_per_day between 1 and 50),
    booking_window_days  integer not null default 14 check (booking_window_days between 1 and 120),
    min_lead_minutes     integer not null default 120 check (min_lead_minutes between 0 and 20160),
    step_minutes         integer not null default 30 check (step_minutes between 5 and 240),
    -- Used when a job matches no catalog item (the owner quotes it).
    default_job_minutes  integer not null default 60 check (default_job_minutes between 15 and 1440),
    -- Reminder texts, minutes before the start (24 h and 1 h by default).
    reminder_minutes     integer[] not null default '{1440,60}'
        check (cardinality(reminder_minutes) <= 4 and 0 < all(reminder_minutes)),
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

alter table technicians add column hours jsonb;

alter table appointments
    add column service_name    text,
    add column customer_name   text,
    add column customer_phone  e164,
    -- Bumped on every change, so calendar sync knows what it last pushed.
    add column version         integer not null default 1,
    add column confirmed_at    timestamptz,
    add column cancelled_by    text check (cancelled_by in ('caller', 'owner'));
create index appointments_customer on appointments (business_id, customer_phone);

alter table conversations drop constraint conversations_status_check;
alter table conversations add constraint conversations_status_check check (status in (
    'active', 'closed_idle', 'closed_opted_out', 'closed_undeliverable', 'closed_manual',
    'closed_no_response', 'closed_stale', 'closed_booked', 'closed_cancelled'));

create table calendar_connections (
    id                 uuid primary key default gen_random_uuid(),
    business_id        uuid not null references businesses(id),
    provider           text not null check (provider in ('google', 'jobber')),
    -- AES-256-GCM with NMC_SECRET_KEY, like the Twilio token.
    access_token_enc   text not null,
    refresh_token_enc  text,
    expires_at         timestamptz,
    calendar_id        text not null default 'primary',
    status             text not null default 'connected' check (status in ('connected', 'error', 'disconnected')),
    last_error         text,
    last_synced_at     timestamptz,
    busy_refreshed_at  timestamptz,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    unique (business_id, provider)
);

-- Per appointment and calendar: what was pushed, and the last error if it failed.
create table calendar_syncs (
    appointment_id   uuid not null references appointments(id),
    provider         text not null check (provider in ('google', 'jobber')),
    business_id      uuid not null references businesses(id),
    external_id      text,
    synced_version   integer not null default 0,
    status           text not null default 'pending' check (status in ('pending', 'synced', 'error')),
    last_error       text,
    attempts         integer not null default 0,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (appointment_id, provider)
);

-- Busy time read from the connected Google Calendar (free/busy), replaced on each refresh.
create table external_busy (
    id           bigint generated always as identity primary key,
    business_id  uuid not null references businesses(id),
    provider     text not null,
    during       tstzrange not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index external_busy_business on external_busy using gist (business_id, during);

-- The subscribable feed: looked up by a hash of its token; the token itself is kept encrypted so
-- the owner can see the URL again. Rotating replaces both, and the old URL stops working.
alter table businesses
    add column ics_token_hash text unique,
    add column ics_token_enc  text;
