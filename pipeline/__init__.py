"""CDK v2 infrastructure of the visitor tracker: one stack built from one construct per concern."""
