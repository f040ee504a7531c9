"""``python -m resample``: the command line."""

import sys

from .cli.quick import main

sys.exit(main())
