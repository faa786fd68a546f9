{#-
    Building blocks of identity resolution (see docs/identity.md). Identifiers are strings
    `<type>:<value>` (`email:jan@example.nl`, `cookie:ck01`), so every graph node has one portable type.
-#}

{#- `<type>:<value>` for a non-empty value, else NULL. -#}
{% macro identifier_id(identifier_type, value_expr) -%}
    case when {{ value_expr }} is not null and {{ value_expr }} <> ''
        then {{ dbt.concat(["'" ~ identifier_type ~ ":'", value_expr]) }}
    end
{%- endmacro %}

{#- A normalized email when it looks deliverable, else NULL (`jan.jansen@` is no identifier). -#}
{% macro valid_email(normalized_expr) -%}
    case when {{ is_valid_email(normalized_expr) }} then {{ normalized_expr }} end
{%- endmacro %}

{#- Social handles without the leading `@`, lower-cased. -#}
{% macro normalize_handle(expr) -%}
    nullif(lower({{ regex_replace_all("trim(" ~ expr ~ ")", "^@+", "") }}), '')
{%- endmacro %}

{#-
    A birth date with day and month in sorted order, as text (`1980-03-07` and `1980-07-03` give the
    same key), so a swapped day/month never counts as a second person.
-#}
{% macro birth_date_key(expr) -%}
    case when {{ expr }} is not null then {{ dbt.concat([
        "cast(extract(year from " ~ expr ~ ") as " ~ dbt.type_string() ~ ")", "'-'",
        "cast(least(extract(month from " ~ expr ~ "), extract(day from " ~ expr ~ ")) as " ~ dbt.type_string() ~ ")", "'-'",
        "cast(greatest(extract(month from " ~ expr ~ "), extract(day from " ~ expr ~ ")) as " ~ dbt.type_string() ~ ")"
    ]) }} end
{%- endmacro %}

{#- The letters of a name, lower-case, any alphabet (`Ömer-Jan` -> `ömerjan`). -#}
{% macro name_letters(expr) -%}
    nullif(lower({{ regex_replace_all(expr, "[^\\p{L}]", "") }}), '')
{%- endmacro %}

{#- Upper-case first letter of a first name (`e.h.` -> `E`, `Ömer` -> `Ö`), what initials and typos keep. -#}
{% macro first_initial(expr) -%}
    upper(substring({{ name_letters(expr) }}, 1, 1))
{%- endmacro %}

{#-
    Connected components of an undirected graph by label propagation with hooking and pointer
    jumping (Shiloach-Vishkin style): each round every node takes the smallest label among itself
    and its neighbours, every label (a node id) takes the smallest label any of its nodes saw, and
    then every node takes the label of its label. Labels only decrease and are always node ids of
    the same component, so the result is exact once no edge joins two labels (checked by the
    `components_converged` test); hooking labels as well as nodes makes the number of rounds grow
    with the log of the component's diameter.

    nodes: relation with `node_id`; edges: relation with `node_a`, `node_b` (both in nodes).
    Returns `node_id`, `component_id` (the smallest node id of the component). The rounds run on
    integers numbered in node-id order (joins on integers are several times cheaper than on the
    `<type>:<value>` strings), so the smallest number is the smallest node id.
-#}
{% macro connected_components(nodes, edges, rounds) -%}
    with

    node_numbers as (
        select
            node_id as node_name,
            row_number() over (order by node_id) as node_id
        from {{ nodes }}
    ),

    directed_edges as (
        select
            numbers_a.node_id,
            numbers_b.node_id as neighbour_id
        from {{ edges }} as numbered_edges
        inner join node_numbers as numbers_a on numbered_edges.node_a = numbers_a.node_name
        inner join node_numbers as numbers_b on numbered_edges.node_b = numbers_b.node_name
        union all
        select
            numbers_b.node_id,
            numbers_a.node_id as neighbour_id
        from {{ edges }} as numbered_edges
        inner join node_numbers as numbers_a on numbered_edges.node_a = numbers_a.node_name
        inner join node_numbers as numbers_b on numbered_edges.node_b = numbers_b.node_name
    ),

    labels_0 as (
        select
            node_id,
            node_id as label
        from node_numbers
    ),

    {% for round in range(1, rounds + 1) %}
    neighbour_labels_{{ round }} as (
        select
            directed_edges.node_id,
            min(labels_{{ round - 1 }}.label) as label
        from directed_edges
        inner join labels_{{ round - 1 }}
            on directed_edges.neighbour_id = labels_{{ round - 1 }}.node_id
        group by directed_edges.node_id
    ),

    hooked_{{ round }} as (
        select
            labels_{{ round - 1 }}.node_id,
            labels_{{ round - 1 }}.label as previous_label,
            case
                when neighbour_labels_{{ round }}.label < labels_{{ round - 1 }}.label
                    then neighbour_labels_{{ round }}.label
                else labels_{{ round - 1 }}.label
            end as label
        from labels_{{ round - 1 }}
        left join neighbour_labels_{{ round }}
            on labels_{{ round - 1 }}.node_id = neighbour_labels_{{ round }}.node_id
    ),

    label_hooks_{{ round }} as (
        select
            previous_label as node_id,
            min(label) as label
        from hooked_{{ round }}
        group by previous_label
    ),

    roots_{{ round }} as (
        select
            hooked_{{ round }}.node_id,
            case
                when label_hooks_{{ round }}.label < hooked_{{ round }}.label
                    then label_hooks_{{ round }}.label
                else hooked_{{ round }}.label
            end as label
        from hooked_{{ round }}
        left join label_hooks_{{ round }}
            on hooked_{{ round }}.node_id = label_hooks_{{ round }}.node_id
    ),

    labels_{{ round }} as (
        select
            roots_{{ round }}.node_id,
            coalesce(jumped.label, roots_{{ round }}.label) as label
        from roots_{{ round }}
        left join roots_{{ round }} as jumped
            on roots_{{ round }}.label = jumped.node_id
    ),
    {% endfor %}

    components as (
        select
            nodes.node_name as node_id,
            roots.node_name as component_id
        from labels_{{ rounds }} as final_labels
        inner join node_numbers as nodes on final_labels.node_id = nodes.node_id
        inner join node_numbers as roots on final_labels.label = roots.node_id
    )

    select * from components
{%- endmacro %}

{#-
    One row per identifier a source record carries: `identifiers` is a list of
    (identifier type, SQL expression) in order of rank, the first being the record's own key. The
    rank-1 row is kept even without a value, so a record that carries no identifier at all is still
    accounted for (identifier_id NULL).
-#}
{% macro record_identifier_rows(relation, source_system, source_table, record_id, observed_at, identifiers) -%}
    {#- one pass over the source computes every identifier, then one select per identifier -#}
    with record_identifier_values as (
        select
            {{ record_id }} as source_record_id,
            {{ observed_at }} as observed_at
            {%- for identifier_type, value_expr in identifiers %},
            {{ identifier_id(identifier_type, value_expr) }} as identifier_{{ loop.index }}
            {%- endfor %}
        from {{ relation }}
    )

    {%- for identifier_type, value_expr in identifiers %}
    select
        '{{ source_system }}' as source_system,
        '{{ source_table }}' as source_table,
        source_record_id,
        identifier_{{ loop.index }} as identifier_id,
        '{{ identifier_type }}' as identifier_type,
        {{ loop.index }} as identifier_rank,
        observed_at
    from record_identifier_values
    {%- if not loop.first %}
    where identifier_{{ loop.index }} is not null
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- A surname without its tussenvoegsels, lower-case (`Van der Berg`, `Berg, van der`, `Berg van der` -> `berg`). -#}
{% macro surname_core(expr) -%}
    nullif({{ regex_replace_all(
        regex_replace_all(
            regex_replace_all("lower(trim(" ~ expr ~ "))", ",.*$", ""),
            "([ ]+(van|de|der|den|het|ter|ten|te|in|op|onder|aan|bij|uit|''t|d''|vd|v[.]d[.]?|v/d|la|le|du|von|zu|el|al))+$", ""),
        "^((van|de|der|den|het|ter|ten|te|in|op|onder|aan|bij|uit|''t|d''|vd|v[.]d[.]?|v/d|la|le|du|von|zu|el|al)[ ]+)+",
        "") }}, '')
{%- endmacro %}

{#- The tussenvoegsels of a surname, lower-case (`Van der Berg`, `Berg, van der` -> `van der`), NULL without. -#}
{% macro surname_infix(expr) -%}
    coalesce(
        nullif(trim({{ regex_extract("lower(" ~ expr ~ ")", ",(.*)$") }}), ''),
        nullif(trim({{ regex_extract("lower(trim(" ~ expr ~ "))", "[ ]+(((van|de|der|den|het|ter|ten|te|in|op|onder|aan|bij|uit|''t|d''|vd|v[.]d[.]?|v/d|la|le|du|von|zu|el|al)[ ]*)+)$") }}), ''),
        nullif(trim({{ regex_extract(
        "lower(trim(" ~ expr ~ "))",
        "^(((van|de|der|den|het|ter|ten|te|in|op|onder|aan|bij|uit|''t|d''|vd|v[.]d[.]?|v/d|la|le|du|von|zu|el|al)[ ]+)+)") }}), ''))
{%- endmacro %}

{#-
    A Dutch sound-alike key of a name for blocking, in two steps (each a chain of regex replacements
    short enough for parsers): `dutch_spelling_fold` keeps letters only and folds the spellings Dutch
    pronounces alike (ij/ei/y, ch/g, c/k, ph/f, z/s, dt/d at the end, v/f, ou/au), then
    `collapse_double_letters` makes double letters single and drops `h`.
    `Meijer`, `Meyer`, `Meier` -> `myer`; `Smit`, `Smid`, `Smidt` -> `smit`.
-#}
{% macro dutch_sound_key(expr) -%}
    {{ collapse_double_letters(dutch_spelling_fold(expr)) }}
{%- endmacro %}

{% macro dutch_spelling_fold(expr) -%}
    {%- set folded = namespace(expr="lower(" ~ expr ~ ")") -%}
    {%- for pattern, replacement in [
        ("[^a-z]", ""), ("eij|ij|ei|ey|ie|ee|i", "y"), ("ch|gh", "g"), ("ck|c|q", "k"), ("ph", "f"),
        ("z", "s"), ("(dt|d)$", "t"), ("v", "f"), ("ou|au", "a"), ("oe|uu", "u"), ("aa", "a"), ("oo", "o")] -%}
        {%- set folded.expr = regex_replace_all(folded.expr, pattern, replacement) -%}
    {%- endfor -%}
    {{ folded.expr }}
{%- endmacro %}

{#- RE2 has no back-references: doubled letters are folded one letter at a time. -#}
{% macro collapse_double_letters(expr) -%}
    {%- set folded = namespace(expr=expr) -%}
    {%- for letter in "bdfgklmnprsty" -%}
        {%- set folded.expr = regex_replace_all(folded.expr, letter ~ letter ~ "+", letter) -%}
    {%- endfor -%}
    nullif({{ regex_replace_all(folded.expr, "h", "") }}, '')
{%- endmacro %}

{#- Similarity of two strings in [0, 1] (Jaro-Winkler where the engine has it). -#}
{% macro string_similarity(left, right) -%}
    {{ return(adapter.dispatch('string_similarity', 'klantbeeld')(left, right)) }}
{%- endmacro %}

{% macro default__string_similarity(left, right) -%}
    jaro_winkler_similarity({{ left }}, {{ right }})
{%- endmacro %}

{% macro spark__string_similarity(left, right) -%}
    (1.0 - levenshtein({{ left }}, {{ right }}) / greatest(length({{ left }}), length({{ right }})))
{%- endmacro %}

{#- Edits between two strings, a swap of neighbours counting as one where the engine can. -#}
{% macro edit_distance(left, right) -%}
    {{ return(adapter.dispatch('edit_distance', 'klantbeeld')(left, right)) }}
{%- endmacro %}

{% macro default__edit_distance(left, right) -%}
    damerau_levenshtein({{ left }}, {{ right }})
{%- endmacro %}

{% macro spark__edit_distance(left, right) -%}
    levenshtein({{ left }}, {{ right }})
{%- endmacro %}

{#-
    True when two person descriptions (relations `l` and `r` with the columns of
    int_identity__profile_records) cannot be one person: birth dates that differ beyond a day/month
    swap, full first names that are not spelling variants (similarity below the threshold and more
    than one edit apart: `Petra`/`Detra`, `Sem`/`Sme`, `Lars`/`ars` are variants, `Henk`/`Hanna` are
    not), or initials that do not fit the other's first name.
-#}
{% macro names_or_birth_dates_conflict(l, r, min_first_name_similarity) -%}
    (
        coalesce({{ l }}.birth_date_key <> {{ r }}.birth_date_key, false)
        or coalesce(({{ l }}.is_first_name_initials or {{ r }}.is_first_name_initials)
            and {{ l }}.first_name_initial <> {{ r }}.first_name_initial, false)
        or coalesce(not {{ l }}.is_first_name_initials and not {{ r }}.is_first_name_initials
            and {{ string_similarity(l ~ ".first_name_letters", r ~ ".first_name_letters") }}
                < {{ min_first_name_similarity }}
            and {{ edit_distance(l ~ ".first_name_letters", r ~ ".first_name_letters") }} > 1, false)
    )
{%- endmacro %}

{#-
    Two profile records next to one identifier that cannot be one person: names or birth dates
    conflict, or, with no birth dates to compare, the address differs and no phone agrees.
-#}
{% macro profiles_conflict(l, r, min_first_name_similarity) -%}
    (
        {{ names_or_birth_dates_conflict(l, r, min_first_name_similarity) }}
        or coalesce(({{ l }}.birth_date_key is null or {{ r }}.birth_date_key is null)
            and ({{ l }}.postcode <> {{ r }}.postcode or {{ l }}.house_number <> {{ r }}.house_number)
            and not coalesce({{ l }}.phone = {{ r }}.phone, false), false)
    )
{%- endmacro %}
