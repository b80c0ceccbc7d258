-- Every appointment change must reach its workflow (calendar sync, reminders, the caller's notice)
-- even if Temporal was unreachable when the change was made: the version the workflow was last told
-- about is kept here, and the worker signals whatever is behind.
alter table appointments
    add column workflow_version       integer not null default 0,
    add column caller_notice_pending  boolean not null default false;
create index appointments_workflow_behind on appointments (updated_at) where version > workflow_version;
