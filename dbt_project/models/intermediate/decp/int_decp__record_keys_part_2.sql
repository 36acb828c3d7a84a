-- Part 2 of int_decp__record_keys (macro decp_record_keys_part, macros/decp_dedup.sql).
{{ decp_record_keys_part(2) }}
