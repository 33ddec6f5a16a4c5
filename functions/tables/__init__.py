"""The only code that builds DynamoDB requests: one request helper module (``store``) and one item family a module."""
