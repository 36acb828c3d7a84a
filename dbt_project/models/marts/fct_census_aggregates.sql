-- Published OECP census key figures (before 2024), one row per figure, ready to sit beside the DECP-based
-- indicator series: each figure names the indicator it extends and carries its threshold. The census
-- counted contracts of 90,000 EUR excl. VAT or more; DECP series from 2024 use 40,000 EUR: a series break.
with figures as (
    select * from {{ ref('stg_census__key_figures') }}
)

select
    year,
    territory_level,
    territory_code,
    territory_name,
    buyer_category,
    nature,
    company_size,
    measure,
    case measure
        when 'contracts' then 'Nombre de contrats'
        when 'amount_eur' then 'Montant total HT (EUR)'
        when 'contracts_share' then 'Part des contrats (en nombre)'
        when 'amount_share' then 'Part des montants'
        when 'mean_amount_eur' then 'Montant moyen par contrat HT (EUR)'
        when 'social_clause_contracts' then 'Contrats avec clause sociale'
        when 'environmental_clause_contracts' then 'Contrats avec clause environnementale'
        when 'social_clause_share' then 'Part des contrats avec clause sociale'
        when 'environmental_clause_share' then 'Part des contrats avec clause environnementale'
    end as measure_label_fr,
    case
        when measure like '%\_share' then 'ratio'
        when measure like '%eur' then 'EUR'
        else 'contracts'
    end as unit,
    case
        when measure like 'social\_clause%' then 'social_clauses'
        when measure like 'environmental\_clause%' then 'environmental_clauses'
        when company_size <> 'all' then 'sme_access'
        else 'order_book'
    end as indicator_id,
    value,
    precision,
    threshold_eur,
    'census' as series,
    case when year < 2024
        then 'Recensement OECP : contrats de 90 000 € HT ou plus. À partir de 2024, séries DECP au seuil de 40 000 € HT : rupture de série.'
    end as threshold_note_fr,
    source_reference,
    source_url,
    note,
    '{{ var("method_version") }}' as method_version,
    load_id
from figures
