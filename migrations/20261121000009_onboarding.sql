-- The onboarding wizard's save-and-resume point: the step the owner reached. NULL means set up
-- (every business created before the wizard, and those the admin API onboards, are).
alter table businesses add column onboarding_step text
    check (onboarding_step in ('profile', 'hours', 'catalog', 'greeting', 'number', 'test'));
