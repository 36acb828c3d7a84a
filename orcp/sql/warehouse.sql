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

-- One row per attempt to download a remote file. The last good row of a URL gives the validators
-- (ETag, Last-Modified) of the next conditional GET; 'unchanged' is a 304 (nothing downloaded).
create table if not exists meta.downloads (
    download_id   bigserial primary key,
    source        text not null,
    url           text not null,
    final_url     text,
    status        text not null check (status in ('downloaded', 'unchanged', 'failed')),
    http_status   integer,
    etag          text,
    last_modified text,
    bytes         bigint,
    sha256        text,
    path          text,
    attempts      integer not null default 1,
    error         text,
    -- what became of the file: the loader's outcome (null: not loaded yet). Only a file whose content
    -- reached raw (loaded, or skipped as already loaded) lends its validators to the next request.
    load_status   text check (load_status in ('loaded', 'skipped', 'failed')),
    started_at    timestamptz not null,
    finished_at   timestamptz not null default clock_timestamp(),
    duration_s    numeric(12, 3)
);
create index if not exists downloads_by_url on meta.downloads (source, url, download_id desc);

-- Raw tables: every one has the same shape, one row per source record as it came (jsonb), with its
-- load, its position in the file, the source and the file. What each holds:
--   decp_records       DECP JSON and XML files (2019 and v2 layouts): one row per contract or concession
--   decp_tabular_rows  tabular files (consolidated CSV/Parquet, ministry exports): {column: text}
--   dgp_rows           DGFiP payment delays, CSV or XLSX: {"row": {label: text}, "mapping": {field: label}}
--   census_rows        OECP census key figures (curated CSV, sample_data/census/): {column: text}
--   sirene_records     SIRENE stock rows kept for the companies the procurement data names;
--                      record_kind 'unite-legale' or 'etablissement'; empty values omitted
--   cerc_survey_rows   CERC public-works survey answers, valid or rejected; record_kind 'respondent' or
--                      'project'; {"sheet", "row", "cells", "parsed", "problems", "valid"}
-- load_id references meta.loads, except in the two DECP tables (national files of a million records):
-- there the per-row key check cost a quarter of the COPY time (benchmark, 300k records). Only the loader
-- writes them, after booking the load; dbt's rpt_decp_load_reconciliation checks every raw row against a
-- loaded load and its record count.
do $$
declare t text;
begin
  foreach t in array array['decp_records', 'decp_tabular_rows', 'dgp_rows', 'census_rows',
                           'sirene_records', 'cerc_survey_rows'] loop
    execute format($ddl$
      create table if not exists raw.%I (
          load_id       bigint  not null %s,
          record_number integer not null,
          source        text    not null,
          source_file   text    not null,
          layout        text    not null,
          record_kind   text    not null,
          record        jsonb   not null,
          primary key (load_id, record_number)
      )$ddl$, t, case when t like 'decp%' then '' else 'references meta.loads (load_id)' end);
  end loop;
  -- Warehouses created before the key was dropped from the DECP tables.
  alter table raw.decp_records drop constraint if exists decp_records_load_id_fkey;
  alter table raw.decp_tabular_rows drop constraint if exists decp_tabular_rows_load_id_fkey;
end $$;

grant usage on schema raw, meta to orcp_loader, orcp_transformer;
grant select, insert, update, delete on all tables in schema raw, meta to orcp_loader;
grant usage on all sequences in schema meta to orcp_loader;
grant select on all tables in schema raw, meta to orcp_transformer;
grant create, usage on schema staging, intermediate, marts, indicators to orcp_transformer;
grant usage on schema marts, indicators to orcp_analyst, orcp_publisher;

-- The reference seeds a successful dbt build loaded, by fingerprint of dbt_project/seeds/ (orcp.transform):
-- an incremental build skips reloading seeds that have not changed since.
create table if not exists meta.seed_loads (
    fingerprint text primary key,
    loaded_at   timestamptz not null default now()
);
grant select, insert, delete on meta.seed_loads to orcp_transformer;

-- The latest successful unselected dbt build (orcp.transform.build): the fingerprint of the dbt project (files and
-- vars) and the loads it had seen. The next build runs only what depends on the raw tables loaded since, as long
-- as the project is the same.
create table if not exists meta.dbt_builds (
    project_fingerprint text not null,
    loads_through       bigint not null,
    built_at            timestamptz not null default now()
);
grant select, insert, delete on meta.dbt_builds to orcp_transformer;
