{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- The CPV 2008 vocabulary (main codes, 8 digits without check digit) with its hierarchy: division (2 digits),
-- group (3), class (4), category (5), and the kind of purchase of its division (45 works; 01-44 and 48
-- supplies; 50-98 services), plus the 'unknown' member.
with codes as (
    select
        left(id, 8) as cpv_code,
        right(id, 1) as check_digit,
        name as cpv_label
    from {{ ref('ref_cpv_2008') }}
),

labels as (
    select cpv_code, cpv_label from codes
)

select
    {{ surrogate_key('cpv', 'codes.cpv_code') }} as cpv_key,
    codes.cpv_code,
    codes.check_digit,
    codes.cpv_label,
    left(codes.cpv_code, 2) as division_code,
    division.cpv_label as division_label,
    left(codes.cpv_code, 3) as group_code,
    cpv_group.cpv_label as group_label,
    left(codes.cpv_code, 4) as class_code,
    cpv_class.cpv_label as class_label,
    left(codes.cpv_code, 5) as category_code,
    category.cpv_label as category_label,
    {{ cpv_contract_type('codes.cpv_code') }} as contract_type,
    case {{ cpv_contract_type('codes.cpv_code') }}
        when 'works' then 'Travaux' when 'supplies' then 'Fournitures' when 'services' then 'Services' end
        as contract_type_fr
from codes
left join labels as division on division.cpv_code = left(codes.cpv_code, 2) || '000000'
left join labels as cpv_group on cpv_group.cpv_code = left(codes.cpv_code, 3) || '00000'
left join labels as cpv_class on cpv_class.cpv_code = left(codes.cpv_code, 4) || '0000'
left join labels as category on category.cpv_code = left(codes.cpv_code, 5) || '000'

union all

select {{ unknown_key() }}, 'unknown', null, 'Inconnu', null, null, null, null, null, null, null, null,
       'unknown', 'Inconnu'
