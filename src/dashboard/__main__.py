from src.dashboard.cli import main

raise SystemExit(main())
