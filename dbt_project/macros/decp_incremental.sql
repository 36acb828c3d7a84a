{# Incremental processing of the DECP models.

   Raw tables are append-only and each row belongs to a load (meta.loads). int_decp__load_batches logs, per dbt
   run, the loads whose raw rows are new or changed (a batch). Each incremental model keeps in
   intermediate.decp_batch_watermarks the last batch it processed (post-hook decp_mark_processed, in the model's
   transaction). int_decp__batch holds the work of the current run: the loads of every batch after the oldest
   watermark, and whether the models must be rebuilt in full (--full-refresh, or a load already processed whose
   raw rows changed, which an append-only design does not expect). From those loads:
     int_decp__batch_base_keys      the base keys (buyer + id) of their records: every record of such a key is
                                    keyed again (contract keys, publications, id reuse across years);
     int_decp__batch_contract_keys  the contract keys those base keys had or have now;
   and every incremental model deletes then recomputes its rows of those keys (strategy decp_replace), so that the
   result equals a full rebuild. Reference data (seeds) and model code are not tracked: after changing them, run
   `dbt build --full-refresh`. #}

{# The incremental DECP models: the oldest of their watermarks decides which loads are pending. #}
{% macro decp_incremental_models() -%}
    {{ return(['int_decp__records_part_1', 'int_decp__records_part_2',
               'int_decp__record_keys_part_1', 'int_decp__record_keys_part_2',
               'int_decp__record_versions_part_1', 'int_decp__record_versions_part_2',
               'int_decp__contract_versions_part_1', 'int_decp__contract_versions_part_2', 'int_decp__version_suppliers',
               'int_decp__record_dispositions', 'fct_contracts', 'fct_contract_modifications',
               'fct_contract_suppliers', 'dim_buyer', 'dim_supplier'] + indicator_group_models()) }}
{%- endmacro %}

{% macro decp_watermarks() -%}
    {{ return(api.Relation.create(database=target.database, schema='intermediate',
                                  identifier='decp_batch_watermarks')) }}
{%- endmacro %}

{# on-run-start: the watermark table (outside dbt's models: written by the models' post-hooks). #}
{% macro create_decp_watermarks() -%}
    create schema if not exists intermediate;
    -- unlogged like the intermediate tables it describes: a crash empties both, and a model without a
    -- watermark is rebuilt in full
    create unlogged table if not exists {{ decp_watermarks() }} (
        model_name text primary key,
        batch_id   bigint not null,
        updated_at timestamptz not null default now()
    );
    create unlogged table if not exists {{ decp_replaced_suppliers() }} (
        batch_id             bigint not null,
        supplier_natural_key text not null
    );
{%- endmacro %}

{# The suppliers (natural keys) of the int_decp__version_suppliers rows an incremental run replaces, by batch:
   dim_supplier recomputes them (with the suppliers of the new rows), since a supplier's row depends on all its
   rows. Filled by a pre-hook of int_decp__version_suppliers in its own transaction; dim_supplier forgets the
   batches it has processed. #}
{% macro decp_replaced_suppliers() -%}
    {{ return(api.Relation.create(database=target.database, schema='intermediate',
                                  identifier='decp_replaced_suppliers')) }}
{%- endmacro %}

{% macro decp_remember_replaced_suppliers() -%}
    {%- if decp_partial_batch() is not none -%}
        insert into {{ decp_replaced_suppliers() }} (batch_id, supplier_natural_key)
        select distinct batch.batch_id, replaced.supplier_natural_key
        from {{ this }} as replaced
        cross join {{ ref('int_decp__batch') }} as batch
        where replaced.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
          and replaced.supplier_natural_key is not null
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# The current run's batch, read at execution time: full (rebuild this model in full) and loads (pending load ids,
   comma-separated). Only for incremental runs (is_incremental()); the model must declare
   `-- depends_on: {{ ref('int_decp__batch') }}`. #}
{% macro decp_batch() -%}
    {% if not execute %}
        {{ return({'full': true, 'loads': '', 'sirene': false}) }}
    {% endif %}
    {% set query %}
        select batch.is_full_rebuild
               or not exists (select 1 from {{ decp_watermarks() }} as marks
                              where marks.model_name = '{{ this.identifier }}'),
               array_to_string(batch.load_ids, ','),
               batch.is_sirene_changed
        from {{ ref('int_decp__batch') }} as batch
    {% endset %}
    {% set row = run_query(query).rows[0] %}
    {{ return({'full': row[0] or should_full_refresh(), 'loads': row[1], 'sirene': row[2]}) }}
{%- endmacro %}

{# The current batch when this incremental model recomputes only what the batch touches; none when the model is
   built in full (first build, --full-refresh, a reload, or a model without watermark). #}
{% macro decp_partial_batch() -%}
    {%- set batch = decp_batch() if is_incremental() else none -%}
    {{ return(batch if batch is not none and not batch.full else none) }}
{%- endmacro %}

{# The batch when a dimension recomputes only the members it touches, else none: on a full build, and when SIRENE
   data changed (any member's attributes may change then), every member is recomputed. #}
{% macro decp_dimension_batch() -%}
    {%- set batch = decp_partial_batch() -%}
    {{ return(batch if batch is not none and not batch.sirene else none) }}
{%- endmacro %}

{# A pre-hook: hash joins only when the model is built in full. Over whole tables the planner may still pick a
   million index lookups (fct_contracts: 25 s with them, 15 s without, 1M contracts); an incremental run reads a few
   keys, by index. #}
{% macro decp_full_build_joins() -%}
    set local enable_nestloop = {{ 'off' if decp_partial_batch() is none else 'on' }}
{%- endmacro %}

{# The pending loads as a SQL array literal (literal values: the planner then reads raw by its primary key). #}
{% macro decp_pending_loads(batch) -%}
    {%- if batch.loads -%} array[{{ batch.loads }}]::bigint[] {%- else -%} '{}'::bigint[] {%- endif -%}
{%- endmacro %}

{# The buyer SIRETs of the pending loads' records (a subquery). #}
{% macro decp_pending_buyer_sirets(batch) -%}
    select distinct buyer_siret from {{ ref('int_decp__records') }}
    where load_id = any({{ decp_pending_loads(batch) }}) and buyer_siret is not null
{%- endmacro %}

{# The suppliers an incremental dim_supplier recomputes (a subquery): those of the batch's contract keys now, and
   those of the rows the batches after dim_supplier's watermark replaced. #}
{% macro decp_batch_suppliers() -%}
    select supplier_natural_key from {{ ref('int_decp__version_suppliers') }}
    where contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
      and supplier_natural_key is not null
    union
    select supplier_natural_key from {{ decp_replaced_suppliers() }}
    where batch_id > coalesce((select batch_id from {{ decp_watermarks() }} where model_name = 'dim_supplier'), -1)
{%- endmacro %}

{# Rows of this model to delete before the recomputed rows are inserted, by kind of key. #}
{% macro decp_stale_rows(key_kind, batch) -%}
    {%- if key_kind.endswith('_or_sirene') -%}
        {#- the dimensions: every member when SIRENE data changed, else the members of the key -#}
        {%- if batch.sirene %} true {%- else -%} {{ decp_stale_rows(key_kind[:-10], batch) }} {%- endif -%}
    {%- elif key_kind == 'load' -%}
        load_id = any({{ decp_pending_loads(batch) }})
    {%- elif key_kind == 'base_key' -%}
        (base_key in (select base_key from {{ ref('int_decp__batch_base_keys') }})
         or load_id = any({{ decp_pending_loads(batch) }}))
    {%- elif key_kind == 'contract_key' -%}
        contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- elif key_kind == 'contract_key_or_load' -%}
        (contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
         or load_id = any({{ decp_pending_loads(batch) }}))
    {%- elif key_kind == 'buyer_siret' -%}
        (buyer_siret = any(array({{ decp_pending_buyer_sirets(batch) }})) or buyer_siret is null)
    {%- elif key_kind == 'supplier_natural_key' -%}
        supplier_natural_key = any(array({{ decp_batch_suppliers() }}))
    {%- elif key_kind == 'buyer_key' -%}
        buyer_key in (select buyer_key from {{ ref('int_indicators__batch_buyers') }})
    {%- elif key_kind == 'contract_sk' -%}
        contract_sk in (select contract_sk from {{ ref('int_decp__batch_contract_keys') }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("decp_stale_rows: unknown key kind " ~ key_kind) }}
    {%- endif -%}
{%- endmacro %}

{# Incremental strategy decp_replace: delete the rows of the keys the batch touches (config decp_key: load,
   base_key, contract_key, contract_key_or_load, contract_sk, buyer_key, buyer_siret, supplier_natural_key; with the
   suffix _or_sirene, every row when SIRENE data changed) and, when unique_key is set, the rows the new rows replace;
   everything when the model is rebuilt in full; then insert the recomputed rows. #}
{% macro get_incremental_decp_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = decp_batch() -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    {%- if not batch.full %}
    where {{ decp_stale_rows(config.require('decp_key'), batch) }}
        {%- if unique_key %}
       or {{ unique_key }} in (select {{ unique_key }} from {{ arg_dict['temp_relation'] }})
        {%- endif %}
    {%- endif %};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{# post-hooks of the incremental models: statistics after a full build only (a batch changes few rows), then the
   watermark, in the same transaction as the rows. Config analyze_columns limits the statistics to the columns
   joins and filters use: sampling the wide jsonb columns of 1M rows costs more than building the table. #}
{% macro decp_analyze() -%}
    {%- if config.get('materialized') == 'view' -%}
        select 1
    {%- elif this.identifier not in decp_incremental_models() or decp_partial_batch() is none -%}
        {%- set columns = config.get('analyze_columns') -%}
        analyze {{ this }} {%- if columns %} ({{ columns | join(', ') }}) {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro decp_mark_processed() -%}
    insert into {{ decp_watermarks() }} (model_name, batch_id)
    select '{{ this.identifier }}', batch.batch_id from {{ ref('int_decp__batch') }} as batch
    on conflict (model_name) do update set batch_id = excluded.batch_id, updated_at = now()
{%- endmacro %}

{# Data tests of the large DECP tables check, on an incremental run, the rows the run recomputed only (the others
   were checked when they were built); every row after a full rebuild. Tests opt in with
   `where: __decp_batch_slice__` (set for the DECP folders in dbt_project.yml). The slice is decided when the test
   runs, so that the planner sees a plain key lookup (or no filter at all). #}
{% macro decp_intermediate(identifier) -%}
    {{ return(api.Relation.create(database=target.database, schema='intermediate', identifier=identifier)) }}
{%- endmacro %}

{% macro decp_batch_is_full() -%}
    {%- set batch = adapter.get_relation(target.database, 'intermediate', 'int_decp__batch') -%}
    {%- if not execute or batch is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set rows = run_query("select is_full_rebuild from " ~ batch).rows -%}
    {{ return(rows | length == 0 or rows[0][0]) }}
{%- endmacro %}

{# The current run's pending DECP loads as an SQL array literal, read when the node runs: with literal values the
   planner reads the loads' rows through the load_id indexes. #}
{% macro decp_current_loads() -%}
    {%- set batch = adapter.get_relation(target.database, 'intermediate', 'int_decp__batch') -%}
    {%- if not execute or batch is none -%}
        {{ return("'{}'::bigint[]") }}
    {%- endif -%}
    {%- set rows = run_query("select array_to_string(load_ids, ',') from " ~ batch).rows -%}
    {%- set loads = rows[0][0] if rows | length > 0 else '' -%}
    {{ return("array[" ~ loads ~ "]::bigint[]" if loads else "'{}'::bigint[]") }}
{%- endmacro %}

{# The rows of a DECP table an incremental run recomputed, as disjoint conditions (each one index-friendly; the
   test reads their union); none (every row) after a full rebuild or for another table. Keys are matched with
   `= any(array(...))`, not `in (...)`: the planner then expects a few rows and reads the tables (and the parents of a
   relationships test) by index; with `in` it expected half a million and hashed the whole parent (0.8 s a test). #}
{% macro decp_batch_slice(relation) -%}
    {%- set tracked = ['decp_records', 'decp_tabular_rows', 'int_decp__records', 'int_decp__record_keys',
                       'int_decp__record_dispositions', 'int_decp__record_versions', 'int_decp__contract_versions',
                       'int_decp__version_suppliers', 'fct_contracts',
                       'fct_contract_modifications', 'fct_contract_suppliers'] + indicator_group_models() -%}
    {%- if relation.identifier not in tracked or decp_batch_is_full()
           or adapter.get_relation(target.database, 'intermediate', 'int_decp__load_batches') is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set loads = "load_id = any(" ~ decp_current_loads() ~ ")" -%}
    {%- set base_keys = "base_key = any(array(select base_key from " ~ decp_intermediate('int_decp__batch_base_keys') ~ "))" -%}
    {%- set contract_keys = decp_intermediate('int_decp__batch_contract_keys') -%}
    {%- set by_contract_key = "contract_key = any(array(select contract_key from " ~ contract_keys ~ "))" -%}
    {%- set by_contract_sk = "contract_sk = any(array(select contract_sk from " ~ contract_keys ~ "))" -%}
    {#- raw rows: those of the loads of the latest batch, or of no batch yet (source tests may run before or after
        int_decp__load_batches in the same run) -#}
    {%- set batches = decp_intermediate('int_decp__load_batches') -%}
    {%- set raw_loads = run_query("select coalesce(string_agg(loads.load_id::text, ','), '') from "
        ~ api.Relation.create(database=target.database, schema='meta', identifier='loads') ~ " as loads"
        ~ " where loads.load_id not in (select load_id from " ~ batches
        ~ " where batch_id < (select max(batch_id) from " ~ batches ~ "))").rows[0][0] -%}
    {%- set by_raw_load = "load_id = any(array[" ~ raw_loads ~ "]::bigint[])" if raw_loads else "false" -%}
    {%- set slices = {
        'decp_records': [by_raw_load],
        'decp_tabular_rows': [by_raw_load],
        'int_decp__records': [loads],
        'int_decp__record_keys': [base_keys, "base_key is null and " ~ loads],
        'int_decp__record_dispositions': [by_contract_key, "contract_key is null and " ~ loads],
        'int_decp__record_versions': [by_contract_key],
        'int_decp__contract_versions': [by_contract_key],
        'int_decp__version_suppliers': [by_contract_key],
        'fct_contracts': [by_contract_sk],
        'fct_contract_modifications': [by_contract_sk],
        'fct_contract_suppliers': [by_contract_sk]} -%}
    {#- the groups models, by their decp_key -#}
    {%- set group_slices = {
        'buyer_key': ["buyer_key = any(array(select buyer_key from " ~ decp_intermediate('int_indicators__batch_buyers') ~ "))"],
        'buyer_siret': ["buyer_siret is null", "buyer_siret = any(array(select buyer_siret from "
                        ~ decp_intermediate('int_decp__records') ~ " where " ~ loads ~ "))"]} -%}
    {%- for node in graph.nodes.values() if node.name in indicator_group_models() -%}
        {%- do slices.update({node.name: group_slices[node.config.decp_key]}) -%}
    {%- endfor -%}
    {{ return(slices[relation.identifier]) }}
{%- endmacro %}

{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__decp_batch_slice__' in where -%}
        {%- set slice = decp_batch_slice(relation) -%}
        {%- set rest = where | replace('__decp_batch_slice__', 'true') -%}
        {%- if not slice and rest | trim == 'true' -%}
            {% do return(relation) %}
        {%- endif -%}
        {%- set filtered -%}
            ({% for condition in (slice or ['true']) %}{{ 'union all ' if not loop.first }}select * from {{ relation }} where ({{ condition }}) and ({{ rest }}) {% endfor %}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- elif where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
