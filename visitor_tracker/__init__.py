"""The visitor-tracker command line tool and local mode."""
