-- One row per DECP record (both layouts), with the fields the first marts need, typed.
-- Values that cannot be typed become null; the raw text stays in raw.decp_records.
with source as (
    select * from {{ source('decp', 'decp_records') }}
)

select
    load_id,
    record_number,
    layout,
    record_kind,
    record ->> 'id' as contract_id,
    coalesce(record #>> '{acheteur,id}', record ->> 'acheteur.id') as buyer_id,
    record ->> 'nature' as nature_raw,
    {{ to_date("record ->> 'dateNotification'") }} as notification_date,
    {{ to_numeric("record ->> 'montant'") }} as amount_eur
from source
