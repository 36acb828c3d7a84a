{# Text cleaning shared by the DECP staging models. Pure SQL expressions (no functions, no exception
   blocks) so that they run inline on every row of national files. #}

{# Pairs (double-encoded UTF-8 read as Windows-1252 or Latin-1, the character it stands for), as
   PostgreSQL Unicode escapes. Longest sequences first: "â€™" must be replaced before "Ã" pairs. #}
{% macro _mojibake_pairs() -%}
{{ return([('\\00E2\\0080\\0093', '\\2013'),
  ('\\00E2\\0080\\0094', '\\2014'),
  ('\\00E2\\0080\\0098', '\\2018'),
  ('\\00E2\\0080\\0099', '\\2019'),
  ('\\00E2\\0080\\009C', '\\201C'),
  ('\\00E2\\0080\\009D', '\\201D'),
  ('\\00E2\\0080\\00A6', '\\2026'),
  ('\\00E2\\0082\\00AC', '\\20AC'),
  ('\\00E2\\201A\\00AC', '\\20AC'),
  ('\\00E2\\20AC\\00A6', '\\2026'),
  ('\\00E2\\20AC\\0153', '\\201C'),
  ('\\00E2\\20AC\\02DC', '\\2018'),
  ('\\00E2\\20AC\\201C', '\\2013'),
  ('\\00E2\\20AC\\201D', '\\2014'),
  ('\\00E2\\20AC\\2122', '\\2019'),
  ('\\00C2\\00AB', '\\00AB'),
  ('\\00C2\\00B0', '\\00B0'),
  ('\\00C2\\00BB', '\\00BB'),
  ('\\00C3\\0080', '\\00C0'),
  ('\\00C3\\0082', '\\00C2'),
  ('\\00C3\\0084', '\\00C4'),
  ('\\00C3\\0086', '\\00C6'),
  ('\\00C3\\0087', '\\00C7'),
  ('\\00C3\\0088', '\\00C8'),
  ('\\00C3\\0089', '\\00C9'),
  ('\\00C3\\008A', '\\00CA'),
  ('\\00C3\\008B', '\\00CB'),
  ('\\00C3\\008E', '\\00CE'),
  ('\\00C3\\008F', '\\00CF'),
  ('\\00C3\\0094', '\\00D4'),
  ('\\00C3\\0096', '\\00D6'),
  ('\\00C3\\0099', '\\00D9'),
  ('\\00C3\\009B', '\\00DB'),
  ('\\00C3\\009C', '\\00DC'),
  ('\\00C3\\00A2', '\\00E2'),
  ('\\00C3\\00A4', '\\00E4'),
  ('\\00C3\\00A6', '\\00E6'),
  ('\\00C3\\00A7', '\\00E7'),
  ('\\00C3\\00A8', '\\00E8'),
  ('\\00C3\\00A9', '\\00E9'),
  ('\\00C3\\00AA', '\\00EA'),
  ('\\00C3\\00AB', '\\00EB'),
  ('\\00C3\\00AE', '\\00EE'),
  ('\\00C3\\00AF', '\\00EF'),
  ('\\00C3\\00B4', '\\00F4'),
  ('\\00C3\\00B6', '\\00F6'),
  ('\\00C3\\00B9', '\\00F9'),
  ('\\00C3\\00BB', '\\00FB'),
  ('\\00C3\\00BC', '\\00FC'),
  ('\\00C3\\0153', '\\00DC'),
  ('\\00C3\\0160', '\\00CA'),
  ('\\00C3\\017D', '\\00CE'),
  ('\\00C3\\02C6', '\\00C8'),
  ('\\00C3\\2013', '\\00D6'),
  ('\\00C3\\201A', '\\00C2'),
  ('\\00C3\\201D', '\\00D4'),
  ('\\00C3\\201E', '\\00C4'),
  ('\\00C3\\2020', '\\00C6'),
  ('\\00C3\\2021', '\\00C7'),
  ('\\00C3\\2030', '\\00C9'),
  ('\\00C3\\2039', '\\00CB'),
  ('\\00C3\\203A', '\\00DB'),
  ('\\00C3\\20AC', '\\00C0'),
  ('\\00C3\\2122', '\\00D9'),
  ('\\00C5\\0092', '\\0152'),
  ('\\00C5\\0093', '\\0153'),
  ('\\00C5\\2019', '\\0152'),
  ('\\00C5\\201C', '\\0153')]) }}
{%- endmacro %}

{# True when the text contains a sequence that double-encoded UTF-8 produces ("Ã©", "â€™", "Â°"). #}
{% macro has_mojibake(expr) -%}
    ({{ expr }} ~ U&'[\00C2\00C3\00C5][\0080-\00BF\0152\0153\0160\0161\0178\017D\017E\0192\02C6\02DC\2013\2014\2018-\201E\2020-\2022\2026\2030\2039\203A\20AC\2122]|\00E2[\20AC\0080\201A\0082]')
{%- endmacro %}

{# The text with reversible double-encoded UTF-8 repaired ("CollÃ¨ge" -> "Collège"); other text unchanged.
   Characters already lost (U+FFFD) cannot be repaired: has_replacement_char flags them. #}
{% macro repair_mojibake(expr) -%}
    case when {{ has_mojibake(expr) }} then
    {%- set pairs = _mojibake_pairs() %}
    {% for _ in pairs %}replace({% endfor %}{{ expr }}
    {%- for bad, good in pairs %}, U&'{{ bad }}', U&'{{ good }}'){% endfor %}
    else {{ expr }} end
{%- endmacro %}

{% macro has_replacement_char(expr) -%}
    (strpos({{ expr }}, U&'\FFFD') > 0)
{%- endmacro %}

{# A comparison key for enum labels: mojibake repaired, lower case, French accents and punctuation removed
   ("Appel d’offres  ouvert" and "APPEL D'OFFRES OUVERT" both give "appel d offres ouvert").
   Chained replace() is several times faster than translate() on UTF-8 text. #}
{% macro label_key(expr) -%}
    {%- set accents = [('à', 'a'), ('â', 'a'), ('ä', 'a'), ('á', 'a'), ('é', 'e'), ('è', 'e'), ('ê', 'e'), ('ë', 'e'),
                       ('î', 'i'), ('ï', 'i'), ('í', 'i'), ('ô', 'o'), ('ö', 'o'), ('ó', 'o'), ('ù', 'u'), ('û', 'u'),
                       ('ü', 'u'), ('ú', 'u'), ('ç', 'c'), ('ÿ', 'y'), ('œ', 'oe'), ('æ', 'ae')] -%}
    nullif(btrim(regexp_replace(
        {%- for _ in accents %}replace({% endfor %}lower({{ repair_mojibake(expr) }})
        {%- for accented, plain in accents %}, '{{ accented }}', '{{ plain }}'){% endfor %},
        '[^a-z0-9]+', ' ', 'g')), '')
{%- endmacro %}

{# Trimmed text, null when empty. #}
{% macro clean_text(expr) -%}
    nullif(btrim({{ repair_mojibake(expr) }}), '')
{%- endmacro %}
