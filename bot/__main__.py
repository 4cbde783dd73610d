"""`python -m bot` is the same as `hardno`."""

import sys

from bot.cli import main

sys.exit(main())
