"""Scoped temporary AWS credentials for SDK clients (STS), least privilege from the access rules."""
