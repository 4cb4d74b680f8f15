import sys

from src.study.cli import main

sys.exit(main())
