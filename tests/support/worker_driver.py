"""Drives Microsoft's Python worker (azure-functions-runtime, the library the Functions host runs for
Python 3.13+) over a deployment package, the way its gRPC front end does, without the .NET host.

Run by tests/infra/test_deployment_package.py with the worker venv's Python (devtools/worker_runtime.py):

    python -I worker_driver.py APP_DIR  <  steps.json  >  results.json

`-I`: nothing but the venv and APP_DIR on sys.path, so a module the package lacks fails the import
exactly as in Azure. Self-contained on purpose (protobuf and the worker only; never imports the repo).

What is Microsoft's here and what is ours:
* Microsoft's: every handler called below (`azure_functions_runtime.worker_init_request`,
  `functions_metadata_request`, `function_load_request`, `invocation_request`), which index
  function_app.py (loader.index_function_app / process_indexed_function), build the function metadata
  the host receives, turn the host's RpcHttp into an azure.functions.HttpRequest, call the function and
  turn its HttpResponse back into RpcHttp.
* Ours, after Microsoft's: the proxy's part. Its Dispatcher (proxy_worker/dispatcher.py in
  Azure/azure-functions-python-worker) wraps each StreamingMessage in
  `WorkerRequest(name, request, properties)` and passes `{"protos": protos, "host": host}` with the
  init request; it starts the runtime's thread pool first (`start_threadpool_executor`). We do the
  same. The proxy also puts the app folder on sys.path and makes it the working directory (the host
  starts the worker there); we do that in `main`.
* Ours, from Microsoft's contract: `protos`. The proxy generates it from FunctionRpc.proto
  (Azure/azure-functions-language-worker-protobuf src/proto/FunctionRpc.proto and
  shared/NullableTypes.proto, as vendored in Azure/azure-functions-python-worker
  azure_functions_worker/protos/_src/, commit 7e6acf3); `build_protos` declares the messages the
  runtime touches with the same names, field numbers and types, as real protobuf messages. A field the
  runtime sets that is not declared here raises ValueError in protobuf (fails closed); an HTTP request
  here carries what the host sends with the capabilities the runtime declares (RawHttpBodyBytes,
  RpcHttpBodyOnly, RpcHttpTriggerMetadataRemoved): method, url, headers, query, body as bytes.
Unverified here: the host's own routing, its authorization of function keys, and gRPC transport.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import types
import uuid
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory, timestamp_pb2

PACKAGE = "AzureFunctionsRpcMessages"
_SCALARS = {
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "sint64": descriptor_pb2.FieldDescriptorProto.TYPE_SINT64,
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
}
_WELL_KNOWN = {"Timestamp": ".google.protobuf.Timestamp", "Duration": ".google.protobuf.Duration"}

# message -> (fields, nested enums). A field: (name, number, type[, oneof]); type "repeated T",
# "map<K,V>", a scalar, a message of this file, "enum:Message.Enum" or a well-known type.
MESSAGES: dict[str, tuple[list[tuple[str, ...]], dict[str, list[str]]]] = {
    "NullableString": ([("value", "1", "string", "string")], {}),
    "NullableDouble": ([("value", "1", "double", "double")], {}),
    "NullableBool": ([("value", "1", "bool", "bool")], {}),
    "NullableTimestamp": ([("value", "1", "Timestamp", "timestamp")], {}),
    "RpcException": (
        [
            ("source", "3", "string"),
            ("stack_trace", "1", "string"),
            ("message", "2", "string"),
            ("is_user_exception", "4", "bool"),
            ("type", "5", "string"),
        ],
        {},
    ),
    "StatusResult": (
        [("status", "4", "enum:StatusResult.Status"), ("result", "1", "string"), ("exception", "2", "RpcException")],
        {"Status": ["Failure", "Success", "Cancelled"]},
    ),
    "WorkerInitRequest": (
        [
            ("host_version", "1", "string"),
            ("capabilities", "2", "map<string,string>"),
            ("worker_directory", "4", "string"),
            ("function_app_directory", "5", "string"),
        ],
        {},
    ),
    "WorkerMetadata": (
        [
            ("runtime_name", "1", "string"),
            ("runtime_version", "2", "string"),
            ("worker_version", "3", "string"),
            ("worker_bitness", "4", "string"),
            ("custom_properties", "5", "map<string,string>"),
        ],
        {},
    ),
    "WorkerInitResponse": (
        [
            ("worker_version", "1", "string"),
            ("capabilities", "2", "map<string,string>"),
            ("result", "3", "StatusResult"),
            ("worker_metadata", "4", "WorkerMetadata"),
        ],
        {},
    ),
    "FunctionsMetadataRequest": ([("function_app_directory", "1", "string")], {}),
    "BindingInfo": (
        [
            ("type", "2", "string"),
            ("direction", "3", "enum:BindingInfo.Direction"),
            ("data_type", "4", "enum:BindingInfo.DataType"),
            ("properties", "5", "map<string,string>"),
        ],
        {"Direction": ["in", "out", "inout"], "DataType": ["undefined", "string", "binary", "stream"]},
    ),
    "RpcRetryOptions": (
        [
            ("max_retry_count", "2", "int32"),
            ("delay_interval", "3", "Duration"),
            ("minimum_interval", "4", "Duration"),
            ("maximum_interval", "5", "Duration"),
            ("retry_strategy", "6", "enum:RpcRetryOptions.RetryStrategy"),
        ],
        {"RetryStrategy": ["exponential_backoff", "fixed_delay"]},
    ),
    "RpcFunctionMetadata": (
        [
            ("name", "4", "string"),
            ("directory", "1", "string"),
            ("script_file", "2", "string"),
            ("entry_point", "3", "string"),
            ("bindings", "6", "map<string,BindingInfo>"),
            ("is_proxy", "7", "bool"),
            ("status", "8", "StatusResult"),
            ("language", "9", "string"),
            ("raw_bindings", "10", "repeated string"),
            ("function_id", "13", "string"),
            ("managed_dependency_enabled", "14", "bool"),
            ("retry_options", "15", "RpcRetryOptions"),
            ("properties", "16", "map<string,string>"),
        ],
        {},
    ),
    "FunctionMetadataResponse": (
        [
            ("function_metadata_results", "1", "repeated RpcFunctionMetadata"),
            ("result", "2", "StatusResult"),
            ("use_default_metadata_indexing", "3", "bool"),
        ],
        {},
    ),
    "FunctionLoadRequest": ([("function_id", "1", "string"), ("metadata", "2", "RpcFunctionMetadata")], {}),
    "FunctionLoadResponse": (
        [("function_id", "1", "string"), ("result", "2", "StatusResult"), ("is_dependency_downloaded", "3", "bool")],
        {},
    ),
    "FunctionEnvironmentReloadResponse": (
        [
            ("worker_metadata", "1", "WorkerMetadata"),
            ("capabilities", "2", "map<string,string>"),
            ("result", "3", "StatusResult"),
        ],
        {},
    ),
    "CollectionString": ([("string", "1", "repeated string")], {}),
    "CollectionBytes": ([("bytes", "1", "repeated bytes")], {}),
    "CollectionDouble": ([("double", "1", "repeated double")], {}),
    "CollectionSInt64": ([("sint64", "1", "repeated sint64")], {}),
    "ModelBindingData": (
        [
            ("version", "1", "string"),
            ("source", "2", "string"),
            ("content_type", "3", "string"),
            ("content", "4", "bytes"),
        ],
        {},
    ),
    "CollectionModelBindingData": ([("model_binding_data", "1", "repeated ModelBindingData")], {}),
    "TypedData": (
        [
            ("string", "1", "string", "data"),
            ("json", "2", "string", "data"),
            ("bytes", "3", "bytes", "data"),
            ("stream", "4", "bytes", "data"),
            ("http", "5", "RpcHttp", "data"),
            ("int", "6", "sint64", "data"),
            ("double", "7", "double", "data"),
            ("collection_bytes", "8", "CollectionBytes", "data"),
            ("collection_string", "9", "CollectionString", "data"),
            ("collection_double", "10", "CollectionDouble", "data"),
            ("collection_sint64", "11", "CollectionSInt64", "data"),
            ("model_binding_data", "12", "ModelBindingData", "data"),
            ("collection_model_binding_data", "13", "CollectionModelBindingData", "data"),
        ],
        {},
    ),
    "ParameterBinding": ([("name", "1", "string"), ("data", "2", "TypedData", "rpc_data")], {}),
    "RpcHttpCookie": (
        [
            ("name", "1", "string"),
            ("value", "2", "string"),
            ("domain", "3", "NullableString"),
            ("path", "4", "NullableString"),
            ("expires", "5", "NullableTimestamp"),
            ("secure", "6", "NullableBool"),
            ("http_only", "7", "NullableBool"),
            ("same_site", "8", "enum:RpcHttpCookie.SameSite"),
            ("max_age", "9", "NullableDouble"),
        ],
        {"SameSite": ["None", "Lax", "Strict", "ExplicitNone"]},
    ),
    "RpcHttp": (
        [
            ("method", "1", "string"),
            ("url", "2", "string"),
            ("headers", "3", "map<string,string>"),
            ("body", "4", "TypedData"),
            ("params", "10", "map<string,string>"),
            ("status_code", "12", "string"),
            ("query", "15", "map<string,string>"),
            ("enable_content_negotiation", "16", "bool"),
            ("rawBody", "17", "TypedData"),
            ("cookies", "19", "repeated RpcHttpCookie"),
            ("nullable_headers", "20", "map<string,NullableString>"),
            ("nullable_params", "21", "map<string,NullableString>"),
            ("nullable_query", "22", "map<string,NullableString>"),
        ],
        {},
    ),
    "RpcTraceContext": (
        [("trace_parent", "1", "string"), ("trace_state", "2", "string"), ("attributes", "3", "map<string,string>")],
        {},
    ),
    "RetryContext": (
        [("retry_count", "1", "int32"), ("max_retry_count", "2", "int32"), ("exception", "3", "RpcException")],
        {},
    ),
    "InvocationRequest": (
        [
            ("invocation_id", "1", "string"),
            ("function_id", "2", "string"),
            ("input_data", "3", "repeated ParameterBinding"),
            ("trigger_metadata", "4", "map<string,TypedData>"),
            ("trace_context", "5", "RpcTraceContext"),
            ("retry_context", "6", "RetryContext"),
        ],
        {},
    ),
    "InvocationResponse": (
        [
            ("invocation_id", "1", "string"),
            ("output_data", "2", "repeated ParameterBinding"),
            ("return_value", "4", "TypedData"),
            ("result", "3", "StatusResult"),
        ],
        {},
    ),
    "StreamingMessage": (
        [
            ("request_id", "1", "string"),
            ("worker_init_request", "17", "WorkerInitRequest", "content"),
            ("function_load_request", "8", "FunctionLoadRequest", "content"),
            ("invocation_request", "4", "InvocationRequest", "content"),
            ("functions_metadata_request", "29", "FunctionsMetadataRequest", "content"),
        ],
        {},
    ),
}


def _set_type(field: descriptor_pb2.FieldDescriptorProto, type_name: str) -> None:
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    elif type_name.startswith("enum:"):
        field.type = descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
        field.type_name = f".{PACKAGE}.{type_name[5:]}"
    else:
        field.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
        field.type_name = _WELL_KNOWN.get(type_name, f".{PACKAGE}.{type_name}")


def _add_message(
    file: descriptor_pb2.FileDescriptorProto, name: str, fields: list[tuple[str, ...]], enums: dict[str, list[str]]
) -> None:
    message = file.message_type.add(name=name)
    for enum_name, values in enums.items():
        enum = message.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    oneofs: list[str] = []
    for name_, number, type_name, *oneof in fields:
        field = message.field.add(name=name_, number=int(number), json_name=name_)
        field.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
        if type_name.startswith("repeated "):
            field.label = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
            _set_type(field, type_name[len("repeated ") :])
        elif type_name.startswith("map<"):
            key, value = type_name[4:-1].split(",")
            entry_name = "".join(part.capitalize() for part in name_.split("_")) + "Entry"
            entry = message.nested_type.add(name=entry_name)
            entry.options.map_entry = True
            for entry_field, entry_number, entry_type in (("key", 1, key), ("value", 2, value)):
                item = entry.field.add(name=entry_field, number=entry_number, json_name=entry_field)
                item.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
                _set_type(item, entry_type)
            field.label = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
            field.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
            field.type_name = f".{PACKAGE}.{name}.{entry_name}"
        else:
            _set_type(field, type_name)
        if oneof:
            if oneof[0] not in oneofs:
                oneofs.append(oneof[0])
                message.oneof_decl.add(name=oneof[0])
            field.oneof_index = oneofs.index(oneof[0])


def build_protos() -> types.SimpleNamespace:
    """The `protos` module the proxy hands the runtime: one real protobuf class per message."""
    file = descriptor_pb2.FileDescriptorProto(name="FunctionRpcSubset.proto", package=PACKAGE, syntax="proto3")
    file.dependency.extend([timestamp_pb2.DESCRIPTOR.name, duration_pb2.DESCRIPTOR.name])
    for name, (fields, enums) in MESSAGES.items():
        _add_message(file, name, fields, enums)
    pool = descriptor_pool.Default()
    pool.Add(file)
    classes = {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in MESSAGES
    }
    return types.SimpleNamespace(**classes, Timestamp=timestamp_pb2.Timestamp, Duration=duration_pb2.Duration)


class WorkerRequest:
    """proxy_worker/dispatcher.py WorkerRequest: name, the StreamingMessage, properties."""

    def __init__(self, name: str, request: Any, properties: dict[str, Any] | None = None) -> None:
        self.name, self.request, self.properties = name, request, properties


def _status(protos: types.SimpleNamespace, result: Any) -> dict[str, Any]:
    ok = result.status == protos.StatusResult.Success
    error = ": ".join(part for part in (result.exception.type, result.exception.message) if part)
    return {"ok": ok, "error": "" if ok else error}


def _metadata(function: Any) -> dict[str, Any]:
    return {
        "name": function.name,
        "function_id": function.function_id,
        "script_file": function.script_file,
        "bindings": [json.loads(raw) for raw in function.raw_bindings],
    }


async def run(app_dir: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    import azure_functions_runtime as worker  # after sys.path is set up (main)

    protos = build_protos()
    worker.start_threadpool_executor()
    init = protos.StreamingMessage(
        request_id="init",
        worker_init_request=protos.WorkerInitRequest(
            host_version="4.0.0", function_app_directory=app_dir, worker_directory=os.path.dirname(worker.__file__)
        ),
    )
    init_response = await worker.worker_init_request(
        WorkerRequest("WorkerInitRequest", init, {"protos": protos, "host": "127.0.0.1"})
    )
    results: dict[str, Any] = {
        "init": _status(protos, init_response.result),
        "capabilities": dict(init_response.capabilities),
        "functions": [],
        "invocations": [],
    }
    if not results["init"]["ok"]:
        return results
    metadata_request = protos.StreamingMessage(
        request_id="metadata",
        functions_metadata_request=protos.FunctionsMetadataRequest(function_app_directory=app_dir),
    )
    metadata = await worker.functions_metadata_request(WorkerRequest("WorkerMetadataRequest", metadata_request))
    results["metadata"] = _status(protos, metadata.result)
    functions = list(metadata.function_metadata_results)
    results["functions"] = [_metadata(function) for function in functions]
    by_name = {function.name: function for function in functions}
    for function in functions:
        load = protos.StreamingMessage(
            request_id="load",
            function_load_request=protos.FunctionLoadRequest(function_id=function.function_id, metadata=function),
        )
        await worker.function_load_request(WorkerRequest("FunctionLoadRequest", load))
    for step in steps:
        results["invocations"].append(await _invoke_http(worker, protos, by_name[step["function"]], step))
    worker.stop_threadpool_executor()
    return results


async def _invoke_http(
    worker: Any, protos: types.SimpleNamespace, function: Any, step: dict[str, Any]
) -> dict[str, Any]:
    [trigger] = [b for b in (json.loads(raw) for raw in function.raw_bindings) if b["type"] == "httpTrigger"]
    http = protos.RpcHttp(
        method=step["method"],
        url=f"http://localhost:7071/api/{step['path']}",
        headers=step.get("headers", {}),
        query={},
        params={},
        body=protos.TypedData(bytes=step.get("body", "").encode()),
    )
    invocation = protos.StreamingMessage(
        request_id="invoke",
        invocation_request=protos.InvocationRequest(
            invocation_id=str(uuid.uuid4()),
            function_id=function.function_id,
            input_data=[protos.ParameterBinding(name=trigger["name"], data=protos.TypedData(http=http))],
        ),
    )
    response = await worker.invocation_request(WorkerRequest("FunctionInvocationRequest", invocation))
    outcome: dict[str, Any] = {"function": function.name, **_status(protos, response.result)}
    if outcome["ok"]:
        returned = response.return_value.http
        outcome["status"] = int(returned.status_code)
        outcome["headers"] = dict(returned.headers)
        outcome["body"] = (
            returned.body.bytes.decode() if returned.body.WhichOneof("data") == "bytes" else returned.body.string
        )
    return outcome


def main() -> int:
    app_dir = os.path.abspath(sys.argv[1])
    # The host starts the worker in the app folder and the proxy puts it first on sys.path
    # (proxy_worker/utils/dependency.py DependencyManager); nothing else of ours is importable.
    os.chdir(app_dir)
    sys.path.insert(0, app_dir)
    steps = json.load(sys.stdin)
    results = asyncio.run(run(app_dir, steps))
    sys.stdout.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
