-- The AI voice agent (issue 17, seed 004 VTCR 3.1–3.5): a business connects its Vapi account;
-- we keep an assistant and a SIP number there in sync, and each call's report lands here.

-- One connection per business. The Vapi key and the secret Vapi sends back on every request to
-- our server are sealed like every other secret (NMC_SECRET_KEY).
create table voice_agents (
    business_id      uuid primary key references businesses(id),
    api_key_sealed   text not null,
    secret_sealed    text not null,
    assistant_id     text,
    phone_number_id  text,
    sip_uri          text,
    -- The SIP number's digest credentials (Vapi's `authentication`): only our <Dial> gets in.
    sip_username     text,
    sip_password_sealed text,
    voice            text not null default 'Elliot' check (length(voice) <= 40),
    greeting         text check (greeting is null or length(greeting) <= 300),
    -- What the agent collects, in order: name, address, need, urgency, preferred_time.
    checklist        text[] not null default array['name', 'address', 'need', 'urgency', 'preferred_time'],
    -- ok, or the last error Vapi gave when we tried to sync (shown in settings).
    health           text not null default 'ok',
    last_error       text,
    synced_at        timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

-- A call the agent took, from Vapi's end-of-call report; one row per Vapi call id however often
-- the report is delivered.
create table agent_calls (
    id             uuid primary key default gen_random_uuid(),
    business_id    uuid not null references businesses(id),
    vapi_call_id   text not null,
    -- Our Twilio call that was handed to the agent, when we could match it.
    call_sid       text,
    caller_phone   e164,
    lead_id        uuid references leads(id),
    ended_reason   text not null,
    -- completed, hung_up (the caller left before the agent finished) or failed (Vapi's error).
    outcome        text not null check (outcome in ('completed', 'hung_up', 'failed')),
    transcript     text,
    caller_words   text,
    summary        text,
    structured     jsonb,
    recording_url  text,
    duration_secs  integer,
    started_at     timestamptz,
    ended_at       timestamptz,
    created_at     timestamptz not null default now(),
    unique (business_id, vapi_call_id)
);
create index agent_calls_by_call on agent_calls (business_id, call_sid);

do $$
declare t text;
begin
    foreach t in array array['voice_agents', 'agent_calls']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy tenant_isolation on %I to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant())', t);
        execute format('create policy service_role on %I to public using (current_user <> ''nmc_app'') with check (current_user <> ''nmc_app'')', t);
    end loop;
end $$;
