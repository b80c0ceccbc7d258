#!/bin/sh
# Runs once, on an empty data directory, as the PostgreSQL superuser (the postgres image runs
# /docker-entrypoint-initdb.d/*; tests/tests/it/secure_default.rs runs it too). Roles, none a superuser:
#   nmc_owner  owns the database and its schema; only migrations connect as it
#   nmc        what nmc-api and nmc-worker connect as: owns nothing, cannot bypass row-level security
#   temporal   Temporal's own databases (CREATEDB), when TEMPORAL_DB_PASSWORD is set
# Both nmc roles may SET ROLE to the tenant role nmc_app, but NOINHERIT: they do not take on its
# privileges, nor its row-level-security policy, which needs a tenant set to be evaluated.
set -eu
db="${NMC_DB_NAME:-nevermisscall}"
owner="${NMC_OWNER_ROLE:-nmc_owner}"
app="${NMC_APP_ROLE:-nmc}"
superuser="${POSTGRES_USER:-postgres}"

psql -v ON_ERROR_STOP=1 --username "$superuser" --dbname postgres \
  -v db="$db" -v owner="$owner" -v app="$app" \
  -v owner_pw="${NMC_OWNER_DB_PASSWORD:?set NMC_OWNER_DB_PASSWORD}" -v app_pw="${NMC_DB_PASSWORD:?set NMC_DB_PASSWORD}" <<'SQL'
create role :"owner" login noinherit nosuperuser nocreaterole nobypassrls password :'owner_pw';
create role :"app" login noinherit nosuperuser nocreatedb nocreaterole nobypassrls password :'app_pw';
select 'create role nmc_app nologin' where not exists (select from pg_roles where rolname = 'nmc_app') \gexec
-- Migration 6 grants nmc_app to the migrating role; the owner may pass it on to itself.
grant nmc_app to :"owner" with admin option;
grant nmc_app to :"app";
create database :"db" owner :"owner";
\connect :db
-- Owned outright: NOINHERIT keeps the owner from acting through pg_database_owner.
alter schema public owner to :"owner";
revoke create on schema public from public;
-- Tables and sequences the migrations create: the services' role reads and writes them, no more.
alter default privileges for role :"owner" in schema public grant select, insert, update, delete on tables to :"app";
alter default privileges for role :"owner" in schema public grant usage, select on sequences to :"app";
SQL

if [ -n "${TEMPORAL_DB_PASSWORD:-}" ]; then
  psql -v ON_ERROR_STOP=1 --username "$superuser" --dbname postgres -v pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
create role temporal login createdb nosuperuser password :'pw';
SQL
fi
