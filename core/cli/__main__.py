"""``python -m warl.core.cli`` runs the ``warl`` command."""

import sys

from warl.core.cli import main

sys.exit(main())
