from komi.cli import main

raise SystemExit(main())
