#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
# Two roles, each owning only its own databases:
#   crier     owns the database crier (POSTGRES_CRIER_PASSWORD)
#   temporal  owns temporal and temporal_visibility (POSTGRES_TEMPORAL_PASSWORD); the Temporal
#             image creates its schemas in them on start.
# Passwords go through psql variables (:'name' quotes them), never through the SQL text.
# Changing a password in .env later does not change it here: ALTER ROLE ... PASSWORD as well.
set -eu
: "${POSTGRES_CRIER_PASSWORD:?POSTGRES_CRIER_PASSWORD is not set}"
: "${POSTGRES_TEMPORAL_PASSWORD:?POSTGRES_TEMPORAL_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v crier_password="$POSTGRES_CRIER_PASSWORD" \
  -v temporal_password="$POSTGRES_TEMPORAL_PASSWORD" <<'SQL'
CREATE ROLE crier LOGIN PASSWORD :'crier_password';
CREATE DATABASE crier OWNER crier;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
