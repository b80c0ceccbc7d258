-- The weekly email: each owner may stop it (one-click unsubscribe), and the business records
-- what its Temporal schedule `digest-{id}` was last set to (its timezone; null: no schedule),
-- so the worker creates, moves or deletes schedules until the two agree.
alter table users add column weekly_digest boolean not null default true;
alter table businesses add column digest_schedule_tz text;
