"""Print the requirements of hwsim's runtime plus the given extras (pyproject.toml), one per line.

    python tools/deps.py demo

Used by ``make demo`` to install the packages while the C extension compiles.
Needs Python >= 3.11 (tomllib); exits 1 without it (the Makefile then installs serially).
"""
import os
import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    sys.exit(1)

with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "pyproject.toml"), "rb") as f:
    project = tomllib.load(f)["project"]
reqs = list(project["dependencies"])
for extra in sys.argv[1:]:
    reqs += project["optional-dependencies"][extra]
print("\n".join(dict.fromkeys(reqs)))
