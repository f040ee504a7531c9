"""``python -m resample``: the command line."""

import sys

from .quick import main

sys.exit(main())
