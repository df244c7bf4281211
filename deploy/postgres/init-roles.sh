#!/bin/sh
# docker-compose's postgres runs this once on first start (docker-entrypoint-initdb.d):
# the services' role `stc` (no superuser, no CREATEDB/CREATEROLE) with the password from
# the secret the services read too (STC_DATABASE_PASSWORD_FILE), and one database per
# service owned by it. Every connection proves a password (scram-sha-256).
set -eu
STC_PASSWORD=$(head -n 1 "${STC_DB_PASSWORD_FILE:?}" | tr -d '\r\n')
[ -n "$STC_PASSWORD" ] || { echo "init-roles: empty password in $STC_DB_PASSWORD_FILE" >&2; exit 1; }
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$STC_PASSWORD" <<'SQL'
CREATE ROLE stc LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE stc_licensing OWNER stc;
CREATE DATABASE stc_screening OWNER stc;
CREATE DATABASE stc_enduser OWNER stc;
CREATE DATABASE stc_credit OWNER stc;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
SQL
