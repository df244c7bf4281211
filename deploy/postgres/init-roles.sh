#!/bin/sh
# docker-compose's postgres runs this once on first start (docker-entrypoint-initdb.d).
# Two roles, neither a superuser, each with the password of its secret:
#   stc_owner  owns the four databases and their schemas; only the `migrate` job uses it;
#   stc        what the services run as: SELECT/INSERT/UPDATE/DELETE on the tables the
#              owner creates (default privileges), no DDL: it cannot alter a table, drop or
#              disable the credit log's append-only triggers, or create tables.
# Every connection proves a password (scram-sha-256).
set -eu
first_line() { head -n 1 "$1" | tr -d '\r\n'; }
STC_PASSWORD=$(first_line "${STC_DB_PASSWORD_FILE:?}")
OWNER_PASSWORD=$(first_line "${STC_DB_OWNER_PASSWORD_FILE:?}")
[ -n "$STC_PASSWORD" ] && [ -n "$OWNER_PASSWORD" ] \
  || { echo "init-roles: an empty password in the database secrets" >&2; exit 1; }
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v pw="$STC_PASSWORD" -v owner_pw="$OWNER_PASSWORD" <<'SQL'
CREATE ROLE stc_owner LOGIN PASSWORD :'owner_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE ROLE stc LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
SQL
for db in stc_licensing stc_screening stc_enduser stc_credit; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE $db OWNER stc_owner" \
    -c "REVOKE ALL ON DATABASE $db FROM PUBLIC" \
    -c "GRANT CONNECT, TEMPORARY ON DATABASE $db TO stc"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" <<'SQL'
ALTER SCHEMA public OWNER TO stc_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO stc;
ALTER DEFAULT PRIVILEGES FOR ROLE stc_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO stc;
ALTER DEFAULT PRIVILEGES FOR ROLE stc_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO stc;
SQL
done
