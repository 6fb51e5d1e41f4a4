import sys

from streetwarden.cli import main

sys.exit(main())
