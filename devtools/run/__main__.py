"""python -m devtools.run: scripts/run's entry (see devtools/run/__init__.py)."""

import sys

from devtools.run.serve import main

if __name__ == "__main__":
    sys.exit(main())
