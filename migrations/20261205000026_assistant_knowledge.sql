-- What the assistant knows about the business (issue 18): its FAQ, the name it goes by, the
-- owner's own instructions and the area the business serves.

alter table businesses
    add column assistant_name text check (assistant_name is null or length(assistant_name) between 1 and 40),
    add column assistant_instructions text check (assistant_instructions is null or length(assistant_instructions) <= 600),
    -- {zips: [], cities: [], radius_miles, center: {address, lat, lon}}; {} serves everywhere.
    add column service_area jsonb not null default '{}'::jsonb;

create table faqs (
    id          uuid primary key default gen_random_uuid(),
    business_id uuid not null references businesses(id),
    question    text not null check (length(question) between 1 and 200),
    answer      text not null check (length(answer) between 1 and 300),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create index faqs_by_business on faqs (business_id, created_at);

alter table faqs enable row level security;
alter table faqs force row level security;
create policy tenant_isolation on faqs to nmc_app using (business_id = nmc_tenant()) with check (business_id = nmc_tenant());
create policy service_role on faqs to public using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');

-- What the owner should know about a text sent for them ("From your FAQ: …"), shown beside it.
alter table messages add column note text check (note is null or length(note) <= 300);

-- A caller outside the service area is declined politely, and the lead says why.
alter table leads drop constraint leads_lost_reason_check,
    add constraint leads_lost_reason_check check (lost_reason in ('wrong_number', 'declined', 'out_of_area'));
