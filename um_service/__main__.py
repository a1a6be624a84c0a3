"""`python -m um_service` runs the `um-service` command."""

from .cli import main

raise SystemExit(main())
