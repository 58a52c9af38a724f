"""`python -m ui`: the web app (same as `rag ui`)."""
import sys

from .server import main

sys.exit(main())
