-- Owner accounts (OWNER / TECH), sessions with rotating refresh tokens, invitations, log-in
-- lock-out, messaging registration (10DLC) per business, the live event log behind SSE, and
-- row-level security on every tenant table as a second wall behind the store's tenant argument.

-- A business that signs up by itself has no number yet: it gets one at go-live.
alter table businesses
    alter column twilio_number drop not null,
    alter column twilio_account_sid drop not null,
    alter column twilio_auth_token_enc drop not null,
    alter column business_phone drop not null,
    add column trade text,
    -- not_registered → submitted → approved / rejected. Businesses onboarded by operations are approved.
    add column messaging_status text not null default 'approved'
        check (messaging_status in ('not_registered', 'submitted', 'approved', 'rejected')),
    add column messaging_registration jsonb,
    add column messaging_note text,
    add column notify_by_text boolean not null default true;

create table users (
    id             uuid primary key default gen_random_uuid(),
    business_id    uuid not null references businesses(id),
    email          text not null check (email like '%_@_%'),
    name           text not null check (length(btrim(name)) > 0),
    -- argon2id, PHC string.
    password_hash  text not null,
    role           text not null check (role in ('owner', 'tech')),
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create unique index users_email on users (lower(email));
create index users_business on users (business_id);

-- One session per log-in; its refresh tokens rotate. Reusing a rotated token revokes the session.
create table sessions (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    user_id      uuid not null references users(id),
    revoked_at   timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create table refresh_tokens (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    session_id   uuid not null references sessions(id),
    -- SHA-256 of the token; the token itself is never stored.
    token_hash   text not null unique,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

create table invites (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    email        text not null,
    role         text not null check (role in ('tech')),
    token_hash   text not null unique,
    invited_by   uuid references users(id),
    expires_at   timestamptz not null,
    accepted_at  timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

-- Mail we send (invitations). The log mailer writes here; a real mailer would too, for the record.
create table outbound_emails (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    to_email     text not null,
    subject      text not null,
    body         text not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

-- Failed log-ins per email, whether or not the account exists (no enumeration by lock-out).
create table login_failures (
    email         text primary key,
    failures      integer not null default 0,
    locked_until  timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

-- What the owner's live view shows, in order: SSE reads from here (resume by id) and NOTIFY
-- wakes every API instance.
create table events (
    id           bigint generated always as identity primary key,
    business_id  uuid not null references businesses(id),
    kind         text not null,
    data         jsonb not null default '{}',
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index events_business_id on events (business_id, id);

create or replace function nmc_notify_event() returns trigger language plpgsql as $$
begin
    perform pg_notify('nmc_events', new.business_id::text || ':' || new.id::text);
    return new;
end $$;
create trigger events_notify after insert on events for each row execute function nmc_notify_event();

-- Row-level security. Owner API requests run as `nmc_app` with `nmc.business_id` set for the
-- transaction; webhooks and the worker keep the connecting role (they are not tenant-scoped).
do $$ begin
    if not exists (select from pg_roles where rolname = 'nmc_app') then
        create role nmc_app nologin;
    end if;
end $$;
grant nmc_app to current_user;
grant usage on schema public to nmc_app;
grant select, insert, update, delete on all tables in schema public to nmc_app;
grant usage, select on all sequences in schema public to nmc_app;
alter default privileges in schema public grant select, insert, update, delete on tables to nmc_app;
alter default privileges in schema public grant usage, select on sequences to nmc_app;

create or replace function nmc_tenant() returns uuid language sql stable as $$
    select current_setting('nmc.business_id')::uuid
$$;

do $$
declare t text;
begin
    foreach t in array array['leads', 'calls', 'conversations', 'messages', 'message_status_events', 'opt_outs',
        'webhook_events', 'audit_log', 'notifications', 'technicians', 'catalog_items', 'appointments',
        'schedule_rules', 'calendar_connections', 'calendar_syncs', 'external_busy', 'users', 'sessions',
        'refresh_tokens', 'invites', 'outbound_emails', 'events']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('create policy tenant_isolation on %I to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant())', t);
    end loop;
end $$;
alter table businesses enable row level security;
create policy tenant_isolation on businesses to nmc_app using (id = nmc_tenant()) with check (id = nmc_tenant());
-- Roles other than nmc_app (the connecting role: webhooks, worker, migrations) see every row.
do $$
declare t text;
begin
    foreach t in array array['businesses', 'leads', 'calls', 'conversations', 'messages', 'message_status_events', 'opt_outs',
        'webhook_events', 'audit_log', 'notifications', 'technicians', 'catalog_items', 'appointments',
        'schedule_rules', 'calendar_connections', 'calendar_syncs', 'external_busy', 'users', 'sessions',
        'refresh_tokens', 'invites', 'outbound_emails', 'events']
    loop
        execute format('create policy service_role on %I to public using (current_user <> ''nmc_app'') with check (current_user <> ''nmc_app'')', t);
    end loop;
end $$;
