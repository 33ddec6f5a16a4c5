"""Helpers shared by the test tiers: how a test reads the table, builds visits and events, counts calls."""
