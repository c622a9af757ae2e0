"""``python -m hwsim.formats [--markdown]``: print the scalar catalogue."""
import sys

from .catalogue import markdown_table, table_rows

if "--markdown" in sys.argv:
    print(markdown_table())
else:
    for row in table_rows():
        print(row)
