"""``python -m crepe``: see :mod:`crepe.cli`."""
import sys

from .cli import main

sys.exit(main())
