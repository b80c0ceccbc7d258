-- Billing through Stripe (issue 16): one plan, a trial, and the subscription's state, which
-- gates automated texting. No status: the business is not billed (billing off, or made by
-- operations); 'none': billing is on and it has not checked out yet.
alter table businesses add column billing_status text
    check (billing_status in ('none', 'trialing', 'active', 'past_due', 'unpaid', 'incomplete',
                              'incomplete_expired', 'canceled', 'paused'));
alter table businesses add column stripe_customer_id text unique;
alter table businesses add column stripe_subscription_id text;
alter table businesses add column billing_trial_end timestamptz;
alter table businesses add column billing_period_end timestamptz;
-- The plan ends then (cancelled in the portal, "at period end").
alter table businesses add column billing_cancel_at timestamptz;
-- A past-due subscription texts until then (set by the first declined payment).
alter table businesses add column billing_grace_until timestamptz;
-- The `created` of the newest subscription event applied: Stripe does not deliver in order.
alter table businesses add column billing_event_at timestamptz;

-- Every Stripe event once: the webhook records its id in the same transaction as its change.
create table stripe_events (
    id           text primary key,
    type         text not null,
    business_id  uuid references businesses(id),
    created_at   timestamptz not null,
    received_at  timestamptz not null default now()
);
alter table stripe_events enable row level security;
alter table stripe_events force row level security;
create policy service_role on stripe_events to public
    using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');
