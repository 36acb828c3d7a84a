{{ config(materialized='view') }}

-- Every DECP source record (both raw tables) in the unified contract shape, with its place of execution placed in
-- COG 2025 and the checks that need reference data: everything downstream reads this. Built in two tables that
-- dbt fills side by side, one per thread (macro decp_records_part).
select * from {{ ref('int_decp__records_part_1') }}
union all
select * from {{ ref('int_decp__records_part_2') }}
