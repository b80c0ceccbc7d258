-- Row-level security binds the tables' owner too: whichever role the services connect as (the
-- owner included, should a deployment connect as it), the policies decide what it sees. Roles
-- other than nmc_app keep their all-rows policy (`service_role`); superusers still bypass RLS,
-- which is why docs/DEPLOY.md connects the services as a role that is neither.
do $$
declare t text;
begin
    for t in
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r' and c.relrowsecurity
    loop
        execute format('alter table %I force row level security', t);
    end loop;
end $$;
