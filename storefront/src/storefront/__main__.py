"""`python -m storefront` runs the CLI."""

import sys

from storefront.cli import main

sys.exit(main())
