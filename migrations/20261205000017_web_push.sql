-- Web Push (RFC 8030/8291/8292): each browser a member turned alerts on in, and the
-- deployment's VAPID key, generated once and sealed like every other secret.

create table push_subscriptions (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    user_id          uuid not null references users(id),
    -- The push service's URL for this browser: unique, so a re-subscribe replaces it.
    endpoint         text not null unique,
    -- The browser's P-256 public key and auth secret, base64url as PushSubscription.toJSON() gives them.
    p256dh           text not null,
    auth             text not null,
    last_success_at  timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index push_subscriptions_user on push_subscriptions (user_id);

alter table push_subscriptions enable row level security;
alter table push_subscriptions force row level security;
create policy tenant_isolation on push_subscriptions to nmc_app
    using (business_id = nmc_tenant()) with check (business_id = nmc_tenant());
create policy service_role on push_subscriptions to public
    using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');

-- Deployment-wide secrets made by the service itself (the VAPID key when none is configured).
create table platform_secrets (
    name        text primary key,
    value_enc   text not null,
    created_at  timestamptz not null default now()
);
alter table platform_secrets enable row level security;
alter table platform_secrets force row level security;
create policy service_role on platform_secrets to public
    using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');
