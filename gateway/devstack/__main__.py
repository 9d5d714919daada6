import sys

from gateway.devstack.stack import main

sys.exit(main())
