-- Password reset: a one-time link that works for 30 minutes. Only the token's hash is kept.
create table password_resets (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    user_id      uuid not null references users(id),
    token_hash   text not null unique,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index password_resets_user on password_resets (user_id);

-- The same walls as every tenant table: nmc_app sees its business's rows only; the services'
-- own role (the reset runs before anyone is signed in) sees all; the owner is bound too.
alter table password_resets enable row level security;
alter table password_resets force row level security;
create policy tenant_isolation on password_resets to nmc_app
    using (business_id = nmc_tenant()) with check (business_id = nmc_tenant());
create policy service_role on password_resets to public
    using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');
