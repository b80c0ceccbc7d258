-- Who has read which alert: each member of the team has their own unread count.
create table notification_reads (
    business_id      uuid not null references businesses(id),
    user_id          uuid not null references users(id),
    notification_id  uuid not null references notifications(id),
    read_at          timestamptz not null default now(),
    primary key (user_id, notification_id)
);
create index notification_reads_notification on notification_reads (notification_id);

alter table notification_reads enable row level security;
alter table notification_reads force row level security;
create policy tenant_isolation on notification_reads to nmc_app
    using (business_id = nmc_tenant()) with check (business_id = nmc_tenant());
create policy service_role on notification_reads to public
    using (current_user <> 'nmc_app') with check (current_user <> 'nmc_app');
