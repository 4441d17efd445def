"""Memory: peak RSS of a worker that imports function_app and handles 1000 creates.

A fresh child process, so nothing else this run loaded counts. The creates go through the
CreateSAPCustomer function itself (HTTP request object in, response out) over the service with the
in-memory ledger and queue of tests/fakes and the SAP simulator; storage clients are left out on
purpose, the number is about the app's own footprint and its growth per request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, Measurement

CREATES = 1000
TARGET_MB = 200.0


def _peak_rss_mb() -> float:
    """Peak resident set size of this process.

    Linux keeps ru_maxrss across fork and exec, so a child started by a large parent (this runner,
    after the e2e benchmark) reports the parent's peak; VmHWM belongs to the new address space only.
    ru_maxrss is the fallback where /proc is missing (macOS reports it in bytes).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child_main(creates: int = CREATES) -> None:
    """Runs in the child: prints one JSON line with the RSS after import and after the creates."""
    import azure.functions as func

    import function_app
    from bench.common import account_id15, load_samples, silence_log_output
    from shared import bootstrap
    from shared.core.salesforce_id import normalize_salesforce_id
    from shared.sap import simulator
    from shared.sap.rfc import RfcSapGateway
    from shared.usecases import Services
    from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue

    rss_after_import = _peak_rss_mb()
    silence_log_output()
    settings = bootstrap.settings()
    system = simulator.reset_default_system()
    bootstrap.override(Services(sap=RfcSapGateway({}, rfc_module=simulator), ledger=InMemoryLedger(),
                                retry_queue=InMemoryRetryQueue(), organisation=settings.sap_organisation,
                                retry=settings.retry), settings)
    handler = next(function.get_user_function() for function in function_app.app.get_functions()
                   if function.get_function_name() == "CreateSAPCustomer")
    payloads = load_samples()
    rss_after_first_requests = rss_after_import
    statuses: dict[int, int] = {}
    for number in range(creates):
        # The product's own 15 -> 18 conversion: devtools.fake_salesforce would pull requests and
        # cryptography into the process being measured.
        payload = dict(payloads[number % len(payloads)], accountId=normalize_salesforce_id(account_id15("Me", number)))
        request = func.HttpRequest(method="POST", url="http://127.0.0.1/api/customers",
                                   headers={"Content-Type": "application/json"},
                                   body=json.dumps(payload).encode("utf-8"))
        status = handler(request).status_code
        statuses[status] = statuses.get(status, 0) + 1
        if number == len(payloads) - 1:
            rss_after_first_requests = _peak_rss_mb()  # reference data of all three countries loaded
    print(json.dumps({"rss_after_import_mb": rss_after_import, "peak_rss_mb": _peak_rss_mb(),
                      "rss_after_first_requests_mb": rss_after_first_requests,
                      "statuses": statuses, "sap_customers": len(system.customers)}))


def run(creates: int = CREATES) -> list[Measurement]:
    from bench.cold_start import child_environment

    completed = subprocess.run([sys.executable, "-m", "bench.memory", "--child", str(creates)], cwd=ROOT,
                               env=child_environment(), capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"memory child failed ({completed.returncode}): {completed.stderr[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    statuses = {int(status): count for status, count in result["statuses"].items()}
    if statuses != {201: creates}:
        raise RuntimeError(f"memory child: expected {creates} answers 201, got {statuses}")
    peak, after_import = float(result["peak_rss_mb"]), float(result["rss_after_import_mb"])
    after_first = float(result["rss_after_first_requests_mb"])
    return [
        Measurement("memory.peak_rss_after_1000_creates", peak, "MB", TARGET_MB,
                    note=f"{creates} creates through CreateSAPCustomer, in-memory fakes + simulator"),
        Measurement("memory.rss_after_import", after_import, "MB"),
        Measurement("memory.rss_after_first_3_creates", after_first, "MB",
                    note="one per sample: reference data of three countries loaded"),
        Measurement("memory.growth_over_the_other_creates", peak - after_first, "MB",
                    note=f"{creates - 3} creates; the simulator's customers and the fake ledger's rows live here"),
    ]


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        child_main(int(sys.argv[2]) if len(sys.argv) > 2 else CREATES)
    else:
        for measurement in run():
            print(measurement.line())
