"""What the tests share besides fixtures: sample payloads, SAP helpers, concurrency, free ports, the run
command and the running product. Test modules import from here; conftest.py files hold fixtures only,
and no test module imports another. The in-memory fakes of the ports are in tests/fakes/ports.py."""
