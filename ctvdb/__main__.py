import sys

from ctvdb.cli import main

sys.exit(main())
