"""Serve one request with flywheel's client: choose a version, render it, call the model, log
the request and a thumbs-up. No web framework, no Prefect, no DuckDB.

    python examples/serve_prompt.py SUBJECT USER_ID [NAME=VALUE ...]
    # SUBJECT: an experiment (tone-test), a prompt (support = support@production) or NAME@LABEL

Reads $FLYWHEEL_SERVING_PATH (default serving.json), logs to $FLYWHEEL_LANDING_DIR (default
landing/), calls the OpenAI-compatible endpoint $OPENAI_BASE_URL with $OPENAI_API_KEY.
"""

import json
import os
import sys
import time

from openai import OpenAI

from flywheel import serving

subject, user_id, *pairs = sys.argv[1:]
variables = dict(pair.split("=", 1) for pair in pairs)
router = serving.Router.load(os.environ.get("FLYWHEEL_SERVING_PATH", "serving.json"))
client = OpenAI(max_retries=2, timeout=30.0)  # the client retries 429s, 5xx and timeouts

with serving.RequestLogger(os.environ.get("FLYWHEEL_LANDING_DIR", "landing")) as logger:
    choice = router.choose(subject, user_id)
    messages = router.render(choice, variables)
    started = time.perf_counter()
    try:
        reply = client.chat.completions.create(model=choice.model, messages=messages,
                                               **choice.params)
    except Exception as exc:  # retried already: record the failure (never as a bad answer)
        logger.log_request(choice, user_id=user_id, input=variables, messages=messages,
                           error=f"{type(exc).__name__}: {exc}",
                           latency_ms=round((time.perf_counter() - started) * 1000, 1))
        raise
    answer = reply.choices[0].message.content or ""
    request_id = logger.log_request(
        choice, user_id=user_id, input=variables, messages=messages, output=answer,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        prompt_tokens=reply.usage.prompt_tokens if reply.usage else None,
        completion_tokens=reply.usage.completion_tokens if reply.usage else None)
    logger.log_feedback(request_id, "thumbs", "up", user_id=user_id)  # the user liked it

print(json.dumps({"variant": choice.variant, "hash": choice.hash, "experiment": choice.experiment,
                  "request_id": request_id, "answer": answer}))
