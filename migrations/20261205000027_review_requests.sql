-- Review requests after a completed job (issue 19, seed 003 §11): one text a delay after the
-- job is marked done, one reminder if its link was not opened, never more. The link is ours
-- (`/r/{token}`), so opens are counted, and sends every customer to the same Google review
-- form: no gating.

alter table businesses
    -- Google's Place ID for the business (its review form is built from it); none: no requests.
    add column google_place_id text check (google_place_id is null or google_place_id ~ '^[A-Za-z0-9_-]{10,200}$'),
    add column review_delay_secs integer not null default 7200 check (review_delay_secs between 0 and 604800),
    add column review_reminder_secs integer not null default 172800 check (review_reminder_secs between 1 and 1209600),
    -- The owner's wording; {name}, {business} and {link} are filled in.
    add column review_message text check (review_message is null or length(review_message) <= 300);

create table review_requests (
    id             uuid primary key default gen_random_uuid(),
    business_id    uuid not null references businesses(id),
    appointment_id uuid not null references appointments(id),
    phone          e164 not null,
    -- The short link's secret: /r/{token}.
    token          text not null unique,
    sent_at        timestamptz,
    reminded_at    timestamptz,
    opened_at      timestamptz,
    opens          integer not null default 0,
    -- Why nothing (more) went: opted_out, no_link, no_phone.
    skipped        text,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    unique (business_id, appointment_id)
);
create index review_requests_by_business on review_requests (business_id, created_at);

alter table review_requests enable row level security;
alter table review_requests force row level security;
create policy tenant_isolation on review_requests to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant());
create policy service_role on review_requests to public using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');
