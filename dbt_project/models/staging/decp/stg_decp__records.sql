-- One row per record of raw.decp_records (DECP JSON and XML, 2019 and v2 layouts, contracts and
-- concessions), typed and normalised into the unified contract shape (macro decp_contract_shape).
-- One pass over the raw jsonb: every field is read here once.
{{ stg_decp__records_sql() }}
