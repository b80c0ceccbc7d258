-- Callers who won't text (issue 17): call screening, voicemail with recordings and transcripts,
-- line-type checks, a block list, and routing by the time of the call.

-- Screening: in dial-through mode the person who answers must press 1 before the caller is
-- bridged, so a carrier voicemail (which cannot) counts as missed. On for businesses set up
-- from now on; the ones already live keep their calls as they are until the owner turns it on.
alter table businesses add column call_screening boolean not null default false;
alter table businesses alter column call_screening set default true;
-- Set by the whisper's key press on the answering leg; the dial result alone cannot tell a
-- person from a voicemail box.
alter table calls add column screened_at timestamptz;
-- How long the answered call lasted (Twilio's DialCallDuration, the whisper included).
alter table calls add column answered_secs integer;
-- 'blocked' calls are turned away without a lead.
alter table calls drop constraint calls_status_check;
alter table calls add constraint calls_status_check
    check (status in ('ringing', 'answered', 'missed', 'blocked'));
-- What the routing rule gave this call: text, voicemail, ai_voice or both.
alter table calls add column route text;

-- Voicemail: a greeting read by Twilio's speech or an uploaded recording, and a length limit.
alter table businesses add column voicemail_greeting text
    check (voicemail_greeting is null or length(voicemail_greeting) <= 500);
alter table businesses add column voicemail_voice text not null default 'Polly.Joanna';
alter table businesses add column voicemail_language text not null default 'en-US';
alter table businesses add column voicemail_max_secs integer not null default 120
    check (voicemail_max_secs between 10 and 300);
-- An uploaded greeting in object storage (its key and type); the spoken text when null.
alter table businesses add column voicemail_audio_key text;
alter table businesses add column voicemail_audio_type text;

-- One recorded message: on record from Twilio's callback, stored by us, then transcribed.
create table recordings (
    id                   uuid primary key default gen_random_uuid(),
    business_id          uuid not null references businesses(id),
    call_sid             text not null,
    lead_id              uuid references leads(id),
    caller_phone         e164,
    twilio_recording_sid text not null,
    -- Twilio's media URL (without extension); fetched with the account's credentials.
    twilio_url           text not null,
    duration_secs        integer not null default 0,
    status               text not null default 'recorded'
                         check (status in ('recorded', 'stored', 'transcribed', 'failed')),
    storage_key          text,
    content_type         text,
    bytes                bigint,
    transcript           text,
    transcript_language  text,
    -- Deleted from Twilio once we hold our own copy.
    twilio_deleted_at    timestamptz,
    error                text,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    unique (business_id, twilio_recording_sid)
);
create index recordings_by_call on recordings (business_id, call_sid);

-- Twilio Lookup's answer for a caller, kept so each number is looked up once (it is priced).
create table line_checks (
    business_id      uuid not null references businesses(id),
    phone            e164 not null,
    line_type        text,
    carrier_name     text,
    -- 0–100; 90 and above is Lookup's "high" band of SMS-pumping risk.
    sms_pumping_risk integer,
    checked_at       timestamptz not null default now(),
    primary key (business_id, phone)
);

-- "Block this caller": their calls are dropped and their texts ignored, silently.
create table blocked_callers (
    business_id uuid not null references businesses(id),
    phone       e164 not null,
    note        text check (note is null or length(note) <= 200),
    created_by  uuid references users(id) on delete set null,
    created_at  timestamptz not null default now(),
    primary key (business_id, phone)
);

-- What a missed call gets at each half hour of the week (336 cells, Monday 00:00 first):
-- t = text, v = voicemail, a = AI voice, b = both (AI voice, then text).
create table routing_rules (
    business_id uuid primary key references businesses(id),
    grid        text not null check (length(grid) = 336 and grid ~ '^[tvab]+$'),
    updated_at  timestamptz not null default now()
);
-- A whole local day that follows one method (a holiday), whatever the grid says.
create table routing_holidays (
    business_id uuid not null references businesses(id),
    day         date not null,
    method      text not null check (method in ('t', 'v', 'a', 'b')),
    label       text check (label is null or length(label) <= 80),
    primary key (business_id, day)
);

do $$
declare t text;
begin
    foreach t in array array['recordings', 'line_checks', 'blocked_callers', 'routing_rules', 'routing_holidays']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy tenant_isolation on %I to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant())', t);
        execute format('create policy service_role on %I to public using (current_user <> ''nmc_app'') with check (current_user <> ''nmc_app'')', t);
    end loop;
end $$;
