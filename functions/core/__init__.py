"""Runtime plumbing every function shares: definitions, settings, logs and metrics, clients, HTTP, one handler."""
