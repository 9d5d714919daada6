"""Shares between users and the revocation of grants (docs/design.md, "Revocation")."""
