-- Part 1 of int_decp__contract_versions (macro decp_contract_versions_part, macros/decp_dedup.sql).
{{ decp_contract_versions_part(1) }}
