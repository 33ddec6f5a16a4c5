"""The lake (issue 22): every visit's row in the owner's bucket (or local mode's data directory), and the
queries over it (Athena on AWS, DuckDB locally) that the tallies cannot answer: visits, bounce rate,
duration, filters, funnels. A layer beside ``functions.tables``: it imports ``core`` and ``model`` only."""
