-- Mail is delivered: `outbound_emails` becomes the outbox the worker sends over SMTP (or logs,
-- without SMTP_URL). A row is written in the transaction that decides to mail, so a rolled-back
-- invitation sends nothing and a committed one is never lost. The table's row-level security stays.
alter table outbound_emails
    add column html text,
    add column kind text not null default 'account' check (kind in ('account', 'alert', 'digest')),
    -- RFC 8058 one-click unsubscribe (alerts, digests); account mail has none.
    add column unsubscribe_url text,
    -- Set by callers that may record the same mail twice (a retried activity): the second is dropped.
    add column idempotency_key text,
    add column sent_at timestamptz,
    add column attempts int not null default 0,
    -- Also the lease: claiming a row pushes this forward, so a worker that dies mid-send frees it.
    add column next_attempt_at timestamptz not null default now(),
    add column last_error text,
    add column failed_at timestamptz;

-- Rows from before this change were "sent" by the log mailer; without this a deploy would mail
-- every old invitation and reset link.
update outbound_emails set sent_at = created_at;

create unique index outbound_emails_idempotency_key on outbound_emails (idempotency_key)
    where idempotency_key is not null;
create index outbound_emails_due on outbound_emails (next_attempt_at)
    where sent_at is null and failed_at is null;
