"""The smallest Python v2 function app: the cold-start benchmark's baseline (bench/cold_start.py).

What any v2 app pays to be imported and indexed (azure.functions, a FunctionApp, one HTTP function),
so the product's own share of its cold start can be read as a ratio measured on the same machine.
"""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("Hello, world")
