-- Calendars connected from the app (issue 16): the OAuth flow's pending state, the picker's
-- choices, and tokens dropped on disconnect.

-- One row per started "Connect": looked up (and deleted) by the hash of `state` when the
-- provider sends the owner back; the PKCE verifier sealed like the tokens; the binder is the
-- hash of a short-lived cookie, so only the browser that started may finish.
create table oauth_states (
    state_hash         text primary key,
    provider           text not null check (provider in ('google', 'jobber')),
    business_id        uuid not null references businesses(id),
    user_id            uuid not null references users(id),
    code_verifier_enc  text not null,
    redirect_uri       text not null,
    binder_hash        text not null,
    created_at         timestamptz not null default now(),
    expires_at         timestamptz not null
);
alter table oauth_states enable row level security;
alter table oauth_states force row level security;
create policy tenant_isolation on oauth_states to nmc_app
    using (business_id = nmc_tenant()) with check (business_id = nmc_tenant());
create policy service_role on oauth_states to public
    using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');

-- The calendars busy time is read from (empty: the one jobs are written to).
alter table calendar_connections add column busy_calendar_ids text[] not null default '{}';
-- What the provider granted, to say so when a needed permission was unticked.
alter table calendar_connections add column granted_scope text;
-- A disconnected calendar keeps no tokens.
alter table calendar_connections alter column access_token_enc drop not null;
