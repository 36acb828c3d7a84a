{{ config(materialized='view') }}

-- The union of the parts of int_decp__contract_versions, built side by side (macros/decp_dedup.sql): read this, not the parts.
select * from {{ ref('int_decp__contract_versions_part_1') }}
union all
select * from {{ ref('int_decp__contract_versions_part_2') }}
