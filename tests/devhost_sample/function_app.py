"""Sample app for the local host's tests: HTTP routes, a blueprint, queue triggers that fail on purpose.

Queue functions record what they saw per message "key"; GET /sample/observations/{key} returns it,
so tests observe the queue side over HTTP, as a developer would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import azure.functions as func

logger = logging.getLogger(__name__)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
customers = func.Blueprint()

_observations: dict[str, list[dict[str, object]]] = {}
_observations_lock = threading.Lock()


def _type_name(value: object) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _time(moment: object) -> str | None:
    return moment.isoformat() if moment is not None else None  # type: ignore[attr-defined]


def _observe(message: func.QueueMessage, function_name: str, outcome: str) -> str:
    key = str(json.loads(message.get_body())["key"])
    with _observations_lock:
        _observations.setdefault(key, []).append(
            {
                "function": function_name,
                "dequeueCount": message.dequeue_count,
                "messageId": message.id,
                "hasPopReceipt": bool(message.pop_receipt),
                "popReceipt": message.pop_receipt,
                "insertedAt": _time(message.insertion_time),
                "expiresAt": _time(message.expiration_time),
                "nextVisibleAt": _time(message.time_next_visible),
                "messageType": _type_name(message),
                "bodyType": _type_name(message.get_body()),
                "json": message.get_json(),
                "outcome": outcome,
                "monotonic": time.monotonic(),
            }
        )
    return key


@customers.route(route="customers/{accountId}", methods=["GET", "PUT"])
def customer(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "accountId": req.route_params["accountId"],
        "query": dict(req.params),
        "echoHeader": req.headers.get("x-echo"),
        "body": req.get_body().decode("utf-8"),
        "url": req.url,
    }
    status = int(req.params.get("status", "200"))
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers={"X-Sample": "customer"}
    )


@customers.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"item {req.route_params['id']}")


@customers.route(route="items/new", methods=["GET"])
def new_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("new item form")


@customers.route(route="pages/{slug?}")
def page(req: func.HttpRequest) -> str:
    return f"page {req.route_params.get('slug', 'index')}"


@customers.route(route="files/{*path}", methods=["GET"])
def file_path(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params.get("path", ""), mimetype="text/plain", charset="utf-8")


app.register_functions(customers)


@app.function_name("Boom")
@app.route(route="boom", methods=["POST"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("sample failure")


@app.route(methods=["GET"])
async def slow_async(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0.01)
    return func.HttpResponse(status_code=204)


@app.route(route="inspect/{name}", methods=["POST"])
def inspect_request(req: func.HttpRequest) -> func.HttpResponse:
    """What the function received, so tests can check it is what azure.functions' converter builds."""
    seen = {
        "requestType": _type_name(req),
        "headersType": _type_name(req.headers),
        "method": req.method,
        "routeParams": dict(req.route_params),
        "params": dict(req.params),
        "contentType": req.headers.get("Content-Type"),
        "body": req.get_body().decode("utf-8"),
        "json": req.get_json(),
    }
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


def sample_answer(kind: str) -> object:
    """What GET /sample/answers/{kind} returns; the tests encode the same value with HttpResponseConverter."""
    if kind == "text":
        return "plain text result"
    if kind == "none":
        return None
    if kind == "html":
        return func.HttpResponse("<p>hi</p>", status_code=202, mimetype="text/html", charset="utf-8")
    if kind == "cookies":
        return func.HttpResponse(
            b"\x00\x01binary",
            status_code=201,
            mimetype="application/octet-stream",
            headers={"X-One": "1", "Set-Cookie": "session=abc; Path=/; HttpOnly"},
        )
    if kind == "repeated":
        response = func.HttpResponse("r", headers={"X-Repeated": "first"})
        response.headers.add("X-Repeated", "second")
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2; Max-Age=60")
        return response
    if kind == "dict":
        return {"not": "an HttpResponse"}
    raise KeyError(kind)


@app.route(route="answers/{kind}", methods=["GET"])
def answers(req: func.HttpRequest) -> func.HttpResponse:
    return sample_answer(req.route_params["kind"])  # type: ignore[return-value]


@app.route(route="observations/{key}", methods=["GET"])
def observations(req: func.HttpRequest) -> func.HttpResponse:
    with _observations_lock:
        seen = list(_observations.get(req.route_params["key"], []))
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.queue_trigger(arg_name="message", queue_name="%SAMPLE_FLAKY_QUEUE%", connection="AzureWebJobsStorage")
def flaky_worker(message: func.QueueMessage) -> None:
    if message.dequeue_count == 1:
        key = _observe(message, "flaky_worker", "failed")
        logger.info("flaky_worker: failing first attempt of %s", key)
        raise RuntimeError("first attempt fails on purpose")
    key = _observe(message, "flaky_worker", "succeeded")
    logger.info("flaky_worker: handled %s", key)


@app.queue_trigger(arg_name="message", queue_name="%SAMPLE_POISON_QUEUE%", connection="AzureWebJobsStorage")
def always_fails(message: func.QueueMessage) -> None:
    _observe(message, "always_fails", "failed")
    raise ValueError("this message can never be handled")


@app.queue_trigger(arg_name="message", queue_name="%SAMPLE_SLOW_QUEUE%", connection="AzureWebJobsStorage")
def slow_worker(message: func.QueueMessage) -> None:
    """Runs for the message's "seconds" (longer than the in-flight window in the tests)."""
    key = _observe(message, "slow_worker", "started")
    time.sleep(float(message.get_json().get("seconds", 0)))
    _observe(message, "slow_worker", "finished")
    logger.info("slow_worker: handled %s", key)


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
def housekeeping(timer: func.TimerRequest) -> None:
    logger.info("timer triggers are not served locally; this never runs")
