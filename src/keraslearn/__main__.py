"""``python -m keraslearn``: the ``keraslearn`` command, where the console script
is not on the PATH."""

import sys

from .serving._cli import main

if __name__ == "__main__":
    sys.exit(main())
