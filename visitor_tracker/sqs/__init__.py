"""Local mode's SQS: one stand-in for local mode, the tests and bench. ``model`` (messages, queues,
errors, MD5s), ``core`` and ``engine`` (the semantics, behind one lock), ``protocol`` (SQS's JSON
protocol, over HTTP or in process), ``journal`` (durability in local mode's data directory)."""
