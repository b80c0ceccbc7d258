-- The owner's loop: every alert has a number (#n, for replies by text), each member chooses
-- their channels, and texts from a member's phone are commands, never a caller's.

-- #n in "reply #n …": counted per business, so every member sees the same number.
alter table businesses add column alert_seq integer not null default 0;
alter table notifications add column number integer;
create unique index notifications_number on notifications (business_id, number) where number is not null;

-- A Slack incoming webhook per business (sealed like the Twilio token) and what it hears.
alter table businesses add column slack_webhook_enc text;
alter table businesses add column slack_kinds text[] not null default '{}';

-- Each member's channels. No row: the defaults in store::alerts apply.
create table alert_preferences (
    user_id       uuid primary key references users(id),
    business_id   uuid not null references businesses(id),
    -- Where SMS alerts go and which phone counts as this member's (for commands).
    phone         e164,
    sms_kinds     text[] not null default '{}',
    email_kinds   text[] not null default '{}',
    push_kinds    text[] not null default '{}',
    -- The member texted STOP: no alert texts at all, emergencies included, until START.
    sms_stopped   boolean not null default false,
    -- Quiet hours in the business's timezone, minutes after midnight; both or neither.
    quiet_start   smallint check (quiet_start between 0 and 1439),
    quiet_end     smallint check (quiet_end between 0 and 1439),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    check ((quiet_start is null) = (quiet_end is null))
);
create unique index alert_preferences_phone on alert_preferences (business_id, phone) where phone is not null;

-- One row per alert sent (or held back) to one member on one channel: what the notification
-- centre and "reply to the latest alert" read, and the outbox for push and Slack.
create table alert_deliveries (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    notification_id  uuid not null references notifications(id),
    user_id          uuid references users(id),
    channel          text not null check (channel in ('sms', 'email', 'push', 'slack')),
    -- The phone, the email address, the push subscription's id, or 'slack'.
    target           text not null,
    status           text not null default 'pending' check (status in ('pending', 'sent', 'quiet', 'failed', 'gone')),
    payload          jsonb,
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_error       text,
    sent_at          timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    unique (notification_id, channel, target)
);
create index alert_deliveries_due on alert_deliveries (next_attempt_at) where status = 'pending';
create index alert_deliveries_latest_sms on alert_deliveries (business_id, target, created_at desc) where channel = 'sms';

-- A text from a member's phone to the business number: recorded, then acted on by its own
-- workflow (TeamTextWorkflow), which the outbox starts if the webhook could not.
create table team_texts (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    user_id          uuid references users(id),
    message_sid      text not null,
    from_phone       e164 not null,
    body             text not null,
    started_at       timestamptz,
    -- What came of it: answered #n, handed back, listed, help…
    outcome          text,
    conversation_id  uuid references conversations(id),
    reply_body       text,
    reply_status     text check (reply_status in ('dispatching', 'sent', 'failed')),
    reply_sid        text,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    unique (business_id, message_sid)
);
create index team_texts_unstarted on team_texts (created_at) where started_at is null;

do $$
declare t text;
begin
    foreach t in array array['alert_preferences', 'alert_deliveries', 'team_texts']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy tenant_isolation on %I to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant())', t);
        execute format('create policy service_role on %I to public using (current_user <> ''nmc_app'') with check (current_user <> ''nmc_app'')', t);
    end loop;
end $$;
