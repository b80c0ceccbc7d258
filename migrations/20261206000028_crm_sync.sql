-- Every missed-call interaction pushed to the CRM the business already uses (issue 19, seed 004
-- VTCR 8.1-8.5): one connection per vendor, a push recorded per interaction (conversation
-- ended, booked, voicemail transcribed, or the owner's "Push to CRM") and carried out by its
-- own workflow with retries, every attempt in a delivery log, and the CRM's record id kept per
-- caller so a later push updates instead of duplicating.

create table crm_connections (
    id                 uuid primary key default gen_random_uuid(),
    business_id        uuid not null references businesses(id),
    vendor             text not null check (vendor in ('servicetitan', 'housecallpro', 'jobber', 'gohighlevel', 'hubspot', 'webhook')),
    -- The vendor's credential (API key, token, client secret, or the webhook's whsec_ secret),
    -- AES-256-GCM with NMC_SECRET_KEY. Jobber has none here: it uses the calendar's grant.
    secret_enc         text,
    -- An OAuth grant's refresh token (sealed) and when its access token (secret_enc) expires.
    refresh_token_enc  text,
    token_expires_at   timestamptz,
    -- What is not secret: ServiceTitan's tenant, client id and app key; GoHighLevel's location;
    -- the webhook's URL.
    settings           jsonb not null default '{}',
    -- Our field -> the vendor's custom field (property name, key or id).
    field_map          jsonb not null default '{}',
    enabled            boolean not null default true,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    unique (business_id, vendor)
);

-- The CRM's record for a caller, so the next push updates it.
create table crm_contacts (
    connection_id      uuid not null references crm_connections(id) on delete cascade,
    business_id        uuid not null references businesses(id),
    phone              e164 not null,
    remote_id          text not null,
    -- Secondary ids a vendor needs (ServiceTitan's location, Housecall Pro's address).
    remote_extra       jsonb not null default '{}',
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    primary key (connection_id, phone)
);

create table crm_pushes (
    id                 uuid primary key default gen_random_uuid(),
    business_id        uuid not null references businesses(id),
    connection_id      uuid not null references crm_connections(id) on delete cascade,
    lead_id            uuid not null references leads(id),
    conversation_id    uuid references conversations(id),
    -- ended | booked | voicemail | manual
    trigger            text not null check (trigger in ('ended', 'booked', 'voicemail', 'manual')),
    -- pending (recorded) | retrying (an attempt failed; the workflow tries again) | synced | failed
    status             text not null default 'pending' check (status in ('pending', 'retrying', 'synced', 'failed')),
    attempts           integer not null default 0,
    last_error         text,
    remote_id          text,
    -- Whether the push created the CRM record (false: found or known, and updated).
    created_remote     boolean,
    workflow_started_at timestamptz,
    synced_at          timestamptz,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);
create index crm_pushes_by_lead on crm_pushes (business_id, lead_id, created_at desc);
create index crm_pushes_unstarted on crm_pushes (created_at) where workflow_started_at is null;
create index crm_pushes_by_connection on crm_pushes (connection_id, created_at desc);

-- The delivery log: every attempt, what the vendor answered.
create table crm_attempts (
    id                 bigint generated always as identity primary key,
    push_id            uuid not null references crm_pushes(id) on delete cascade,
    business_id        uuid not null references businesses(id),
    attempt            integer not null,
    ok                 boolean not null,
    http_status        integer,
    error              text,
    duration_ms        integer not null,
    attempted_at       timestamptz not null default now()
);
create index crm_attempts_by_push on crm_attempts (push_id, attempt);

do $$
declare t text;
begin
    foreach t in array array['crm_connections', 'crm_contacts', 'crm_pushes', 'crm_attempts'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy tenant_isolation on %I to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant())', t);
        execute format('create policy service_role on %I to public using (current_user <> ''nmc_app'') with check (current_user <> ''nmc_app'')', t);
    end loop;
end $$;

-- HubSpot and GoHighLevel connect through the same OAuth flow as the calendars.
alter table oauth_states drop constraint oauth_states_provider_check,
    add constraint oauth_states_provider_check check (provider in ('google', 'jobber', 'hubspot', 'gohighlevel'));
