import sys

from gql.cli import main

sys.exit(main())
