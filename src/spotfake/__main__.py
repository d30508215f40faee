"""python -m spotfake: the same as the spotfake command."""

import sys

from spotfake.cli import main

sys.exit(main())
