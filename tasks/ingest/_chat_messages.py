"""Reading chat messages out of the inputs and outputs that tracing tools record.

Tracing tools store a model call's input and output as whatever the framework handed them:
OpenAI chat messages, OpenAI Responses items, LangChain messages, Gemini ``contents``/``parts``,
Anthropic content blocks, the OpenTelemetry GenAI ``parts`` format, the Vercel AI SDK's tool-call
list. This module turns each of those into one canonical form, the native ``messages`` field:

``{"role", "content"?, "tool_calls"?, "tool_call_id"?, "name"?}`` where ``content`` is text
(text parts joined as written), ``tool_calls`` is ``[{"id", "name", "arguments", "type":
"function"}]`` with ``arguments`` a JSON string, and ``role`` is one of system, developer, user,
assistant, tool, function (``model``/``ai`` → assistant, ``human`` → user; any other role, as
LangChain writes a tool's name there, → ``tool`` with the original kept in ``name``).

Tool *definitions* that some frameworks put among the messages are not messages and are dropped.
A value is read as messages only when every item of it is one; otherwise nothing is extracted
(``None``) and the caller keeps the value whole. See docs/trace-ingest.md.
"""

from __future__ import annotations

import json
from typing import Any

Message = dict[str, Any]

NATIVE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
ROLE_ALIASES = {"model": "assistant", "ai": "assistant", "human": "user"}
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


class _NotMessages(Exception):
    """The value is not (entirely) chat messages."""


def compact_json(value: Any) -> str:
    """JSON as JavaScript's ``JSON.stringify`` writes it: no spaces, keys in their order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_json_text(value: Any) -> Any:
    """A string holding a JSON object or array, parsed; any other value as it is."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[", '"'):
            try:
                return json.loads(stripped)
            except ValueError:
                return value
    return value


def input_messages(value: Any) -> list[Message] | None:
    """The chat messages of a recorded model input, or None when it is not chat messages."""
    value = parse_json_text(value)
    try:
        messages = _input(value)
    except _NotMessages:
        return None
    return messages or None


def output_messages(value: Any) -> list[Message] | None:
    """The messages of a recorded model output (one per choice/candidate), or None."""
    value = parse_json_text(value)
    try:
        messages = _output(value)
    except _NotMessages:
        return None
    return messages or None


def output_text(messages: list[Message] | None, recorded: Any) -> str | None:
    """The response as one string: the first output message's text; else its tool calls as
    JSON; else the recorded output itself (a string as it is, anything else as JSON)."""
    for message in messages or []:
        content = message.get("content")
        if isinstance(content, str) and content != "":
            return content
    calls = [call for message in messages or [] for call in message.get("tool_calls", [])]
    if calls:
        return compact_json(calls)
    if recorded is None or messages:
        return None
    return recorded if isinstance(recorded, str) else compact_json(recorded)


def canonical_role(role: str) -> tuple[str, str | None]:
    """The native role for a recorded one, and the original when it had to be replaced."""
    lowered = role.lower()
    if lowered in NATIVE_ROLES:
        return lowered, None
    if lowered in ROLE_ALIASES:
        return ROLE_ALIASES[lowered], None
    return "tool", role


# --- inputs -----------------------------------------------------------------------------


def _input(value: Any) -> list[Message]:
    if isinstance(value, dict):
        if "contents" in value and "messages" not in value:
            return _gemini_request(value)
        if "messages" in value:
            return _items(parse_json_text(value["messages"]))
        if _is_message(value):
            return _message(value)
        raise _NotMessages
    return _items(value)


def _items(value: Any) -> list[Message]:
    if not isinstance(value, list) or not value:
        raise _NotMessages
    if len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    messages: list[Message] = []
    for item in value:
        if not isinstance(item, dict):
            raise _NotMessages
        if item.get("type") == "function_call" and "role" not in item:
            call = _tool_call(item)
            if messages and messages[-1].get("_responses_calls"):
                messages[-1]["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "tool_calls": [call], "_responses_calls": True})
            continue
        if item.get("type") == "function_call_output" and "role" not in item:
            messages.append(_tool_message(item.get("output"), item.get("call_id")))
            continue
        if not _is_message(item):
            raise _NotMessages
        messages.extend(_message(item))
    for message in messages:
        message.pop("_responses_calls", None)
    return messages


def _is_message(item: dict[str, Any]) -> bool:
    return isinstance(item.get("role"), str) and item["role"] != "" and (
        "content" in item or "parts" in item or "tool_calls" in item
    )


def _message(item: dict[str, Any]) -> list[Message]:
    """One recorded message as canonical messages (tool results split off as their own)."""
    role = item["role"]
    if "parts" in item and isinstance(item["parts"], list):
        if any(isinstance(p, dict) and "type" in p for p in item["parts"]):
            return _otel_parts_message(role, item["parts"])
        return [_gemini_content(role, item["parts"])]
    content = item.get("content")
    if role == "tool" and _is_tool_definition(content):
        return []
    calls = [_tool_call(c) for c in _list(item.get("tool_calls"))]
    kwargs = item.get("additional_kwargs")
    if not calls and isinstance(kwargs, dict):
        calls = [_tool_call(c) for c in _list(kwargs.get("tool_calls"))]
    text, block_calls, results = _content(content)
    message = _new_message(role, text, calls + block_calls)
    if isinstance(item.get("tool_call_id"), str):
        message["tool_call_id"] = item["tool_call_id"]
    if results and text is None and not calls and not block_calls:
        return results
    return [message, *results]


def _content(content: Any) -> tuple[Any, list[dict[str, Any]], list[Message]]:
    """(text or kept content, tool calls from content blocks, tool results from content blocks)."""
    if content is None or isinstance(content, str):
        return content, [], []
    if isinstance(content, dict):
        return compact_json(content), [], []
    if not isinstance(content, list):
        return compact_json(content), [], []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[Message] = []
    other = False
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif not isinstance(part, dict):
            other = True
        elif part.get("type") == "tool_use":
            calls.append(_tool_call(part))
        elif part.get("type") == "tool_result":
            inner, _, _ = _content(part.get("content"))
            results.append(_tool_message(inner, part.get("tool_use_id")))
        elif (part.get("type") in _TEXT_PART_TYPES or "type" not in part) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            other = True
    if other:
        return content, calls, results  # images and the like: the content is kept as recorded
    return ("".join(texts) if texts else None), calls, results


def _otel_parts_message(role: str, parts: list[Any]) -> list[Message]:
    """A message in the OpenTelemetry GenAI format: typed parts (text, tool_call, ...)."""
    texts = [p["content"] for p in parts
             if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("content"), str)]
    calls = [_tool_call(p) for p in parts if isinstance(p, dict) and p.get("type") == "tool_call"]
    responses = [
        _tool_message(p.get("response", p.get("result")), p.get("id"))
        for p in parts if isinstance(p, dict) and p.get("type") == "tool_call_response"
    ]
    if responses and not texts and not calls:
        return responses
    return [_new_message(role, "".join(texts) if texts else None, calls), *responses]


def _gemini_request(value: dict[str, Any]) -> list[Message]:
    messages: list[Message] = []
    config = value.get("config")
    instruction = config.get("system_instruction") if isinstance(config, dict) else None
    if instruction:
        text = instruction if isinstance(instruction, str) else _gemini_text(instruction)
        messages.append({"role": "system", "content": text})
    contents = value["contents"]
    if isinstance(contents, str):
        messages.append({"role": "user", "content": contents})
    elif isinstance(contents, list):
        for content in contents:
            if isinstance(content, str):
                messages.append({"role": "user", "content": content})
            elif isinstance(content, dict) and isinstance(content.get("parts"), list):
                messages.append(_gemini_content(content.get("role") or "user", content["parts"]))
            else:
                raise _NotMessages
    else:
        raise _NotMessages
    return messages


def _gemini_text(content: Any) -> str:
    if isinstance(content, dict) and isinstance(content.get("parts"), list):
        return "".join(p["text"] for p in content["parts"] if isinstance(p, dict) and isinstance(p.get("text"), str))
    return compact_json(content)


def _gemini_content(role: str, parts: list[Any]) -> Message:
    """A Gemini ``Content``: text parts, ``function_call`` parts, ``function_response`` parts."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part.get("function_call"), dict):
                fc = part["function_call"]
                calls.append({"id": fc.get("id") or "", "name": fc.get("name"),
                              "arguments": _arguments(fc.get("args", {})), "type": "function"})
            elif isinstance(part.get("function_response"), dict):
                texts.append(compact_json(part["function_response"].get("response")))
    return _new_message(role, "".join(texts) if texts else None, calls)


# --- outputs ----------------------------------------------------------------------------


def _output(value: Any) -> list[Message]:
    if isinstance(value, dict):
        if isinstance(value.get("choices"), list):
            return [m for choice in value["choices"] if isinstance(choice, dict)
                    for m in _message_or_fail(choice.get("message"))]
        if isinstance(value.get("candidates"), list):
            first = value["candidates"][0] if value["candidates"] else None
            content = first.get("content") if isinstance(first, dict) else None
            if isinstance(content, dict) and isinstance(content.get("parts"), list):
                return [_gemini_content(content.get("role") or "model", content["parts"])]
            raise _NotMessages
        if isinstance(value.get("content"), dict) and isinstance(value["content"].get("parts"), list):
            content = value["content"]
            return [_gemini_content(content.get("role") or "model", content["parts"])]
        if value.get("object") == "response" and isinstance(value.get("output"), list):
            return _responses_output(value["output"])
        if "messages" in value:
            return _items(parse_json_text(value["messages"]))
        if isinstance(value.get("message"), dict):
            return _message_or_fail(value["message"])
        if _is_message(value):
            return _message(value)
        raise _NotMessages
    if isinstance(value, list) and value and all(
        isinstance(v, dict) and "toolCallId" in v for v in value
    ):
        return [{"role": "assistant", "tool_calls": [_tool_call(v) for v in value]}]
    return _items(value)


def _message_or_fail(value: Any) -> list[Message]:
    if isinstance(value, dict) and isinstance(value.get("role"), str):
        return _message({"content": None, **value})
    raise _NotMessages


def _responses_output(items: list[Any]) -> list[Message]:
    """OpenAI Responses API output items: messages, function calls (reasoning items dropped)."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise _NotMessages
        if item.get("type") == "message":
            text, _, _ = _content(item.get("content"))
            if isinstance(text, str):
                texts.append(text)
        elif item.get("type") == "function_call":
            calls.append(_tool_call(item))
    if not texts and not calls:
        raise _NotMessages
    return [_new_message("assistant", "".join(texts) if texts else None, calls)]


# --- pieces -----------------------------------------------------------------------------


def _new_message(role: str, content: Any, calls: list[dict[str, Any]]) -> Message:
    native, original = canonical_role(role)
    message: Message = {"role": native}
    if original is not None:
        message["name"] = original
    if content is not None and content != "":
        message["content"] = content
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_message(output: Any, call_id: Any) -> Message:
    message: Message = {"role": "tool"}
    if output is not None:
        message["content"] = output if isinstance(output, str) else compact_json(output)
    if isinstance(call_id, str):
        message["tool_call_id"] = call_id
    return message


def _tool_call(call: Any) -> dict[str, Any]:
    """A tool call from any of the recorded shapes, as ``{id, name, arguments, type}``."""
    if not isinstance(call, dict):
        raise _NotMessages
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    name = function.get("name", call.get("name", call.get("toolName")))
    if "arguments" in function:
        arguments = function["arguments"]
    else:
        arguments = call.get("arguments", call.get("input", call.get("args", {})))
    call_id = call.get("call_id") if call.get("type") == "function_call" else None
    call_id = call_id or call.get("id") or call.get("toolCallId") or ""
    return {"id": call_id, "name": name, "arguments": _arguments(arguments), "type": "function"}


def _arguments(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else compact_json(arguments)


def _is_tool_definition(content: Any) -> bool:
    return isinstance(content, dict) and content.get("type") == "function" and isinstance(
        content.get("function"), dict
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
