"""``python -m glassnet``: the same command line as ``glassnet``."""

from glassnet.cli import main

raise SystemExit(main())
