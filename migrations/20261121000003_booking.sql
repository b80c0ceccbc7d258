-- Booking: technicians, the catalog, and appointments that cannot overlap for one technician.
-- The exclusion constraint is the guarantee: two overlapping bookings for the same technician
-- cannot both commit, whatever the application does (seed 000 ADR-0006).

create extension if not exists btree_gist;

create table technicians (
    id           uuid primary key default gen_random_uuid(),
    business_id  uuid not null references businesses(id),
    name         text not null check (length(btrim(name)) > 0),
    active       boolean not null default true,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index technicians_business on technicians (business_id);

create table catalog_items (
    id                        uuid primary key default gen_random_uuid(),
    business_id               uuid not null references businesses(id),
    name                      text not null check (length(btrim(name)) > 0),
    -- Words callers use for this job ("clog", "won't drain", "backed up").
    keywords                  text[] not null default '{}',
    duration_minutes          integer not null check (duration_minutes between 5 and 1440),
    -- A fixed price, or a range; all in integer cents.
    price_cents               integer check (price_cents >= 0),
    price_min_cents           integer check (price_min_cents >= 0),
    price_max_cents           integer check (price_max_cents >= price_min_cents),
    emergency_surcharge_cents integer check (emergency_surcharge_cents >= 0),
    active                    boolean not null default true,
    created_at                timestamptz not null default now(),
    updated_at                timestamptz not null default now(),
    check (price_cents is not null or (price_min_cents is not null and price_max_cents is not null)),
    unique (business_id, name)
);

create table appointments (
    id               uuid primary key default gen_random_uuid(),
    business_id      uuid not null references businesses(id),
    technician_id    uuid not null references technicians(id),
    lead_id          uuid references leads(id),
    conversation_id  uuid references conversations(id),
    catalog_item_id  uuid references catalog_items(id),
    -- The whole job, start inclusive, end exclusive: back-to-back jobs do not overlap.
    during           tstzrange not null check (not isempty(during) and lower(during) is not null and upper(during) is not null),
    status           text not null default 'scheduled'
                         check (status in ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')),
    address          text,
    price_cents      integer check (price_cents >= 0),
    notes            text,
    -- One booking per intent (a retried activity or a double-clicked button books once).
    idempotency_key  text unique,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint appointments_no_overlap exclude using gist (technician_id with =, during with &&)
        where (status <> 'cancelled')
);
create index appointments_business_during on appointments using gist (business_id, during);
