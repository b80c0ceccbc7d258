-- Proving the numbers (issue 16): the test call that checks the business phone forwards
-- unanswered calls to its NeverMissCall number, and one-time codes that prove a member's
-- alert phone is theirs before any alert is texted to it.

alter table businesses add column phone_carrier text;
alter table businesses add column forwarding_verified_at timestamptz;

-- One test call: the platform rings the business phone (forwarded mode) or the NeverMissCall
-- number (dial-through), and the voice webhook recognises it when it arrives.
create table forwarding_tests (
    id             uuid primary key default gen_random_uuid(),
    business_id    uuid not null references businesses(id),
    -- The platform's number the test call comes from, and the number it rang.
    from_phone     e164 not null,
    to_phone       e164 not null,
    carrier        text,
    call_sid       text,
    status         text not null default 'calling' check (status in ('calling', 'verified', 'failed')),
    -- domain::forwarding::Outcome, once known.
    outcome        text,
    -- The last CallStatus Twilio reported for the platform's call.
    call_status    text,
    started_at     timestamptz not null default now(),
    finished_at    timestamptz
);
create index forwarding_tests_latest on forwarding_tests (business_id, started_at desc);

-- The owner's phone from sign-up; an operator-entered one (admin API) counts as checked.
alter table businesses add column owner_phone_verified_at timestamptz;
-- A member's own alert phone, proved by a code; changing the phone clears it.
alter table alert_preferences add column phone_verified_at timestamptz;
-- Everything here before codes existed keeps working as it did.
update businesses set owner_phone_verified_at = created_at;
update alert_preferences set phone_verified_at = updated_at where phone is not null;

-- A code texted to a phone: only its hash is kept; five tries, ten minutes.
create table phone_verifications (
    id            uuid primary key default gen_random_uuid(),
    business_id   uuid not null references businesses(id),
    user_id       uuid not null references users(id),
    phone         e164 not null,
    code_hash     text not null,
    attempts      integer not null default 0,
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null,
    verified_at   timestamptz
);
create index phone_verifications_latest on phone_verifications (user_id, created_at desc);

do $$
declare t text;
begin
    foreach t in array array['forwarding_tests', 'phone_verifications']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy tenant_isolation on %I to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant())', t);
        execute format('create policy service_role on %I to public using (current_user <> ''nmc_app'') with check (current_user <> ''nmc_app'')', t);
    end loop;
end $$;
