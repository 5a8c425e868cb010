-- OTLP/JSON conversion of one slice, step 3 of 4: one native request record per inference span, its
-- messages read from whichever convention the instrumentation used.
CREATE OR REPLACE TEMP TABLE otel_requests AS
WITH content_values AS (
    -- Each macro below is applied to a plain column: nesting them would expand (and bind) the
    -- inner ones once per reference, which costs seconds per file.
    SELECT *,
        coalesce(otel_attr(attrs, 'gen_ai.input.messages'), otel_attr(details_attrs, 'gen_ai.input.messages')) AS v_input,
        coalesce(otel_attr(attrs, 'gen_ai.output.messages'), otel_attr(details_attrs, 'gen_ai.output.messages')) AS v_output,
        coalesce(otel_attr(attrs, 'gen_ai.system_instructions'),
                 otel_attr(details_attrs, 'gen_ai.system_instructions')) AS v_system,
        coalesce(otel_attr(attrs, 'gen_ai.prompt'), otel_attr(prompt_event_attrs, 'gen_ai.prompt')) AS v_prompt,
        coalesce(otel_attr(attrs, 'gen_ai.completion'), otel_attr(completion_event_attrs, 'gen_ai.completion')) AS v_completion,
        otel_indexed_entries(attrs, 'gen_ai.prompt') AS prompt_entries,
        otel_indexed_entries(attrs, 'gen_ai.completion') AS completion_entries
    FROM otel_spans
    WHERE is_inference
), contents AS (
    SELECT *,
        otel_content(v_input) AS c_input, otel_content(v_output) AS c_output,
        otel_content(v_system) AS c_system, otel_content(v_prompt) AS c_prompt,
        otel_content(v_completion) AS c_completion
    FROM content_values
), message_lists AS (
    SELECT *,
        otel_parts_messages(c_input) AS parts_in, otel_parts_messages(c_output) AS parts_out,
        otel_plain_messages(c_prompt) AS plain_in, otel_plain_messages(c_completion) AS plain_out,
        otel_indexed_of(prompt_entries, 'gen_ai.prompt', 'user') AS indexed_in,
        otel_indexed_of(completion_entries, 'gen_ai.completion', 'assistant') AS indexed_out,
        otel_system_message(c_system) AS system_message
    FROM contents
), inference AS (
    SELECT *,
        trace_id || '-' || span_id AS request_id,
        coalesce(parts_in, plain_in, indexed_in) AS input_messages,
        coalesce(parts_out, plain_out, indexed_out) AS output_messages,
        -- a gen_ai.prompt / gen_ai.completion that is plain text rather than messages
        v_prompt->>'stringValue' AS prompt_text,
        v_completion->>'stringValue' AS completion_text
    FROM message_lists
), inference_text AS (
    SELECT *, otel_output_text(output_messages) AS output_text FROM inference
)
SELECT line_no, span, trace_id, span_id, span_name, request_id, response_id,
        CASE WHEN trace_id IS NULL OR trace_id = '' OR span_id IS NULL OR span_id = ''
                THEN 'span has no traceId or spanId'
             WHEN coalesce(request_model, response_model, '') = ''
                THEN 'no gen_ai.request.model or gen_ai.response.model attribute'
             WHEN started IS NULL THEN 'no startTimeUnixNano'
             WHEN user_id IS NULL AND experiment IS NOT NULL
                THEN 'in experiment ' || experiment || ' but has no user.id attribute (the A/B randomization unit)'
        END AS reason,
        json_merge_patch('{}', json_object(  -- merge-patch: keys whose value is NULL are left out
            'request_id', request_id,
            'timestamp', otel_iso(started),
            'user_id', coalesce(user_id, CASE WHEN experiment IS NULL THEN 'anonymous' END),
            'session_id', session_id,
            'experiment', experiment,
            'variant', variant,
            'prompt_name', prompt_name,
            'prompt_hash', prompt_hash,
            'model', coalesce(request_model, response_model),
            'messages', CASE WHEN input_messages IS NOT NULL OR system_message IS NOT NULL
                             THEN to_json(coalesce(system_message, []::JSON[])
                                          || coalesce(input_messages, []::JSON[])) END,
            'input', CASE WHEN input_messages IS NULL AND system_message IS NULL
                          THEN CASE WHEN prompt_text IS NOT NULL THEN json_object('input', prompt_text)
                                    ELSE json_object() END END,
            'output', coalesce(output_text, CASE WHEN output_messages IS NULL THEN completion_text END),
            'latency_ms', CASE WHEN ended IS NOT NULL THEN span_ms END,
            'prompt_tokens', input_tokens,
            'completion_tokens', output_tokens,
            'error', CASE WHEN failed OR error_type IS NOT NULL
                          THEN coalesce(status_message, error_type, 'error') END,
            'metadata', json_merge_patch(json_object('source', 'otel'), json_object(
                'trace_id', trace_id, 'span_id', span_id, 'parent_span_id', parent_span_id,
                'span_name', span_name, 'operation', operation, 'provider', provider,
                'request_model', request_model, 'response_model', response_model,
                'response_id', response_id,
                'service_name', service_name))
        )) AS record
    FROM inference_text;
