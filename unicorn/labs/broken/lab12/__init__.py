"""Lab 12's broken deployments: a proxy that passes slow uploads through, and misplaced trust."""
