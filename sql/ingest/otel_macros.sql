-- Reading OTLP/JSON spans: attribute lookup, typed values, and GenAI messages in the canonical
-- message form of tasks/ingest/chat_messages.py (the two are cross-checked by the tests).

-- OTLP attributes ([{key, value}]) parsed once into a list of structs: looking a key up then
-- compares strings instead of parsing every attribute's JSON again for every key.
CREATE OR REPLACE TEMP MACRO otel_attrs(attributes) AS
    json_transform(attributes, '[{"key": "VARCHAR", "value": "JSON"}]');

-- The AnyValue of attribute `key` in an otel_attrs list (NULL if absent).
CREATE OR REPLACE TEMP MACRO otel_attr(attrs, key) AS
    list_filter(attrs, lambda a: a.key = key)[1].value;

-- An AnyValue as text (numbers and booleans written out), as a number, as an integer.
CREATE OR REPLACE TEMP MACRO otel_text(v) AS
    coalesce(v->>'stringValue', v->>'intValue', v->>'doubleValue', v->>'boolValue');
CREATE OR REPLACE TEMP MACRO otel_number(v) AS
    coalesce(try_cast(v->>'doubleValue' AS DOUBLE), try_cast(v->>'intValue' AS DOUBLE),
             try_cast(v->>'stringValue' AS DOUBLE));
CREATE OR REPLACE TEMP MACRO otel_int(v) AS
    coalesce(try_cast(v->>'intValue' AS BIGINT), try_cast(v->>'doubleValue' AS BIGINT),
             try_cast(v->>'stringValue' AS BIGINT));

-- An AnyValue as plain JSON. Structured values (arrayValue / kvlistValue, nested to any depth)
-- are unwrapped by fw_otlp_value_json, a scalar function that tasks/ingest/otel.py registers:
-- SQL macros cannot recurse, and nesting them level by level makes DuckDB's binder exponential
-- in the depth. Only structured values reach it; most SDKs record content as JSON strings.
CREATE OR REPLACE TEMP MACRO otel_json(v) AS
    CASE
        WHEN v IS NULL THEN NULL
        WHEN json_exists(v, '$.stringValue') THEN to_json(v->>'stringValue')
        WHEN json_exists(v, '$.boolValue') THEN to_json(try_cast(v->>'boolValue' AS BOOLEAN))
        WHEN json_exists(v, '$.intValue') THEN to_json(try_cast(v->>'intValue' AS BIGINT))
        WHEN json_exists(v, '$.doubleValue') THEN to_json(try_cast(v->>'doubleValue' AS DOUBLE))
        WHEN json_exists(v, '$.bytesValue') THEN to_json(v->>'bytesValue')
        WHEN json_exists(v, '$.arrayValue') OR json_exists(v, '$.kvlistValue')
            THEN json(fw_otlp_value_json(v::VARCHAR))
    END;

-- A content attribute: a JSON string (how most SDKs record it on spans) parsed; a structured
-- value unwrapped; a string that is not JSON kept as a JSON string.
CREATE OR REPLACE TEMP MACRO otel_content(v) AS
    CASE
        WHEN v IS NULL THEN NULL
        WHEN json_exists(v, '$.stringValue') AND json_valid(v->>'stringValue') THEN json(v->>'stringValue')
        ELSE otel_json(v)
    END;

-- Nanoseconds since the epoch (OTLP writes them as a string or a number) as a UTC timestamp.
CREATE OR REPLACE TEMP MACRO otel_time(nanos) AS
    CASE WHEN try_cast(nanos AS HUGEINT) > 0
         THEN make_timestamp(CAST(try_cast(nanos AS HUGEINT) // 1000 AS BIGINT)) END;
CREATE OR REPLACE TEMP MACRO otel_iso(ts) AS strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ');

-- --- messages (see tasks/ingest/chat_messages.py for the canonical form) ------------------

CREATE OR REPLACE TEMP MACRO fw_role(role) AS
    CASE WHEN lower(role) IN ('system', 'developer', 'user', 'assistant', 'tool', 'function') THEN lower(role)
         WHEN lower(role) IN ('model', 'ai') THEN 'assistant'
         WHEN lower(role) = 'human' THEN 'user'
         WHEN role IS NOT NULL AND role <> '' THEN 'tool'
    END;
CREATE OR REPLACE TEMP MACRO fw_role_name(role) AS
    CASE WHEN fw_role(role) = 'tool' AND lower(role) <> 'tool' THEN role END;

-- JSON text of a value that may already be a JSON string (kept as that string) or any JSON.
CREATE OR REPLACE TEMP MACRO fw_as_text(j) AS
    CASE WHEN j IS NULL OR json_type(j) = 'NULL' THEN NULL
         WHEN json_type(j) = 'VARCHAR' THEN j->>'$'
         ELSE json(j)::VARCHAR END;

-- One canonical message; keys whose value is NULL are left out (JSON merge-patch semantics).
CREATE OR REPLACE TEMP MACRO fw_message(role, content, tool_calls) AS
    json_merge_patch(
        json_object('role', coalesce(fw_role(role), role)),
        json_object('name', fw_role_name(role), 'content', nullif(content, ''),
                    'tool_calls', CASE WHEN len(tool_calls) > 0 THEN to_json(tool_calls) END));
CREATE OR REPLACE TEMP MACRO fw_tool_message(content, call_id) AS
    json_merge_patch(json_object('role', 'tool'),
                     json_object('content', content, 'tool_call_id', call_id));
CREATE OR REPLACE TEMP MACRO fw_tool_call(call_id, name, arguments) AS
    json_object('id', coalesce(call_id, ''), 'name', name,
                'arguments', coalesce(fw_as_text(arguments), '{}'), 'type', 'function');

-- gen_ai.input.messages / gen_ai.output.messages: [{role, parts: [{type, ...}]}].
-- Text parts make the content, tool_call parts the tool calls; each tool_call_response part
-- becomes a tool message of its own; other parts (reasoning, blobs, uris) are not text.
CREATE OR REPLACE TEMP MACRO otel_parts_message_of(role, texts, calls, responses) AS
    CASE WHEN len(responses) > 0 AND len(texts) = 0 AND len(calls) = 0 THEN []::JSON[]
         ELSE [fw_message(role, CASE WHEN len(texts) > 0
                                     THEN array_to_string(list_transform(texts, lambda p: p->>'content'), '') END,
                          list_transform(calls, lambda p: fw_tool_call(p->>'id', p->>'name', p->'arguments')))]
    END
    || list_transform(responses, lambda p: fw_tool_message(
           fw_as_text(coalesce(p->'response', p->'result')), p->>'id'));
CREATE OR REPLACE TEMP MACRO otel_parts_message(role, parts) AS
    otel_parts_message_of(
        role,
        coalesce(list_filter(parts, lambda p: p->>'type' = 'text' AND json_type(p, '$.content') = 'VARCHAR'), []),
        coalesce(list_filter(parts, lambda p: p->>'type' = 'tool_call'), []),
        coalesce(list_filter(parts, lambda p: p->>'type' = 'tool_call_response'), []));
CREATE OR REPLACE TEMP MACRO otel_parts_messages(msgs) AS
    CASE WHEN json_type(msgs) = 'ARRAY' AND json_array_length(msgs) > 0
              AND list_bool_and(list_transform(json_extract(msgs, '$[*]'),
                    lambda m: coalesce(json_type(m, '$.role') = 'VARCHAR' AND json_type(m, '$.parts') = 'ARRAY', false)))
         THEN flatten(list_transform(json_extract(msgs, '$[*]'),
                    lambda m: otel_parts_message(m->>'role', json_extract(m, '$.parts[*]'))))
    END;

-- The older gen_ai.prompt / gen_ai.completion attributes: a JSON array of {role, content}
-- messages (OpenAI style, tool_calls allowed).
CREATE OR REPLACE TEMP MACRO otel_plain_message(m) AS
    fw_message(m->>'role',
               CASE WHEN json_type(m, '$.content') = 'ARRAY'
                         AND list_bool_and(list_transform(json_extract(m, '$.content[*]'),
                               lambda p: coalesce(json_type(p, '$.text') = 'VARCHAR', false)))
                    THEN array_to_string(list_transform(json_extract(m, '$.content[*]'), lambda p: p->>'text'), '')
                    ELSE fw_as_text(m->'content') END,
               coalesce(list_transform(json_extract(m, '$.tool_calls[*]'),
                   lambda c: fw_tool_call(c->>'id', coalesce(c->>'$.function.name', c->>'name'),
                                          coalesce(c->'$.function.arguments', c->'arguments'))), []));
CREATE OR REPLACE TEMP MACRO otel_plain_messages(msgs) AS
    CASE WHEN json_type(msgs) = 'ARRAY' AND json_array_length(msgs) > 0
              AND list_bool_and(list_transform(json_extract(msgs, '$[*]'),
                    lambda m: coalesce(json_type(m, '$.role') = 'VARCHAR', false)))
         THEN list_transform(json_extract(msgs, '$[*]'), lambda m: otel_plain_message(m))
    END;

-- Indexed attributes (OpenLLMetry): gen_ai.prompt.0.role, gen_ai.prompt.0.content, ...
CREATE OR REPLACE TEMP MACRO otel_indexed_of(entries, prefix, default_role) AS
    CASE WHEN len(entries) > 0 THEN list_transform(
        list_sort(list_distinct(list_transform(entries,
            lambda e: CAST(regexp_extract(e.key, '\.(\d+)\.(?:role|content)$', 1) AS INTEGER)))),
        lambda i: fw_message(
            coalesce(otel_text(list_filter(entries, lambda e: e.key = prefix || '.' || i || '.role')[1].value),
                     default_role),
            otel_text(list_filter(entries, lambda e: e.key = prefix || '.' || i || '.content')[1].value),
            []::JSON[]))
    END;
CREATE OR REPLACE TEMP MACRO otel_indexed_entries(attrs, prefix) AS
    coalesce(list_filter(attrs, lambda a: starts_with(a.key, prefix || '.')
               AND regexp_full_match(substr(a.key, length(prefix) + 2), '\d+\.(role|content)')), []);

-- gen_ai.system_instructions: [{type: text, content}] (or a plain string) as a system message.
CREATE OR REPLACE TEMP MACRO otel_system_message(instr) AS
    CASE WHEN json_type(instr) = 'VARCHAR' THEN [fw_message('system', instr->>'$', []::JSON[])]
         WHEN json_type(instr) = 'ARRAY' THEN [fw_message('system', nullif(array_to_string(list_transform(
                  list_filter(json_extract(instr, '$[*]'), lambda p: json_type(p, '$.content') = 'VARCHAR'),
                  lambda p: p->>'content'), ''), ''), []::JSON[])]
    END;

-- The response as one string: the first message's text, else its tool calls as JSON.
CREATE OR REPLACE TEMP MACRO otel_output_text(msgs) AS
    coalesce(list_filter(msgs, lambda m: coalesce(m->>'content', '') <> '')[1]->>'content',
             CASE WHEN len(flatten(list_transform(msgs, lambda m: coalesce(json_extract(m, '$.tool_calls[*]'), [])))) > 0
                  THEN to_json(flatten(list_transform(msgs,
                           lambda m: coalesce(json_extract(m, '$.tool_calls[*]'), []))))::VARCHAR END);
