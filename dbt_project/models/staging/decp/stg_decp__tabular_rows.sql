-- One row per row of raw.decp_tabular_rows, typed and normalised into the unified contract shape
-- (macro decp_contract_shape), for the two tabular layouts:
--   decp-tabular       the decp.info consolidated dataset: one row per contract x supplier x modification,
--                      snake_case columns (acheteur_id, titulaire_id, lieuExecution_code, modification_id...);
--   minef-csv-v3/2019  the ministry's CSV exports: one row per contract (x modification), dotted columns
--                      (acheteur.id), up to 3 numbered suppliers, markers MQ / CDL / INX.
-- Column names differ between layouts but never collide, so each field reads whichever the row has.
-- One pass over the raw jsonb.
{{ stg_decp__tabular_rows_sql() }}
