-- A greeting held while texting was not yet approved: once the business is approved, the
-- worker asks its conversation to send it (if the call is recent) and notes when it asked.
alter table messages add column release_requested_at timestamptz;
create index messages_held_greetings on messages (business_id, created_at) where status = 'held' and kind = 'greeting';

-- The set-up wizard gains its texting-registration step.
alter table businesses drop constraint businesses_onboarding_step_check;
alter table businesses add constraint businesses_onboarding_step_check
    check (onboarding_step in ('profile', 'hours', 'catalog', 'greeting', 'number', 'texting', 'test'));
