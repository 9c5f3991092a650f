"""`python -m tapstack_cli` runs the `tapstack` command."""

from tapstack_cli.main import main

raise SystemExit(main())
