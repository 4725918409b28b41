"""`python -m ctvdb.import WORKBOOK ...`: the import's command (see ctvdb.import_cli)."""

import sys

from ctvdb.import_cli import main

if __name__ == "__main__":
    sys.exit(main())
