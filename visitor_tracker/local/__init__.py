"""Local mode in parts: its AWS (``aws``), the API Gateway stand-in (``gateway``), the writer's event
source mapping (``esm``), the console, the data directory, and ``server.serve`` starting and stopping
them in one place. ``python -m visitor_tracker.local`` runs it (``__main__``)."""
