"""The pure model: visits, privacy, sketches, bots, devices, the aggregate layout, folds, summaries, ranges.

No boto3, no I/O (an import-linter contract in ``make lint`` keeps it so): every rule here is tested without AWS.
"""
