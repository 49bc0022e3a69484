import sys

from tests.faults.suite import main

sys.exit(main())
