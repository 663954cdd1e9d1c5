import sys

from openft.cli import main

sys.exit(main())
