-- Warehouse skeleton: schemas, roles, load bookkeeping and raw tables.
-- Idempotent: `orcp db init` runs it on every call.

create schema if not exists meta;
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists indicators;

-- Group roles (NOLOGIN): deployments grant them to login users.
do $$
declare r text;
begin
  foreach r in array array['orcp_loader', 'orcp_transformer', 'orcp_analyst', 'orcp_publisher'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin', r);
    end if;
  end loop;
end $$;

-- One row per attempt to load one file (or one zip member).
create table if not exists meta.loads (
    load_id        bigserial primary key,
    source         text not null,
    url            text,
    file_name      text not null,
    member         text,
    sha256         text,
    bytes          bigint,
    format         text,
    records        bigint,
    status         text not null check (status in ('running', 'loaded', 'skipped', 'failed')),
    error          text,
    error_position text,
    started_at     timestamptz not null default clock_timestamp(),
    finished_at    timestamptz,
    duration_s     numeric(12, 3)
);
-- A content is loaded once: the same bytes again are skipped.
create unique index if not exists loads_one_loaded_per_content
    on meta.loads (sha256) where status = 'loaded';

-- DECP records from JSON and XML files, one row per contract or concession as it came.
create table if not exists raw.decp_records (
    load_id       bigint  not null references meta.loads (load_id),
    record_number integer not null,
    source        text    not null,
    source_file   text    not null,
    layout        text    not null,
    record_kind   text    not null,
    record        jsonb   not null,
    primary key (load_id, record_number)
);

-- Rows of tabular files (consolidated CSV/Parquet, ministry exports): every column kept as text.
create table if not exists raw.decp_tabular_rows (
    load_id       bigint  not null references meta.loads (load_id),
    record_number integer not null,
    source        text    not null,
    source_file   text    not null,
    layout        text    not null,
    record_kind   text    not null,
    record        jsonb   not null,
    primary key (load_id, record_number)
);

grant usage on schema raw, meta to orcp_loader, orcp_transformer;
grant select, insert, update, delete on all tables in schema raw, meta to orcp_loader;
grant usage on all sequences in schema meta to orcp_loader;
grant select on all tables in schema raw, meta to orcp_transformer;
grant create, usage on schema staging, intermediate, marts, indicators to orcp_transformer;
grant usage on schema marts, indicators to orcp_analyst, orcp_publisher;
