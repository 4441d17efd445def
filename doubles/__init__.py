"""What the local doubles share: the parts that are the same whichever system a double imitates.

Development only, like the doubles that use it (sap_simulator/, s4_simulator/):
left out of the deployment package (.funcignore) and never imported by product code (pyproject.toml's
import-linter contracts). It imports nothing of the product, so each double keeps to its own contract.

  fault_plan.py   the fault settings string and its plan (parse, arm, draw, count); each double names its
                  faults in a FaultCatalogue
  state_file.py   the SQLite state file a double keeps its system's data in (WAL, synchronous=FULL, BEGIN
                  IMMEDIATE, the schema tag)
  serving.py      an HTTP server on a thread of its own, started and stopped (also the fake Salesforce's,
                  devtools/fake_salesforce.py)
"""
