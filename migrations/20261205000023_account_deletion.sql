-- A business may delete its account (issue 16): what stays is a tombstone row (so opt-outs and
-- the audit log keep their meaning), with no personal data and no way to sign in.
alter table businesses add column deleted_at timestamptz;
