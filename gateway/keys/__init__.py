"""Signing keys: the keyring on disk, watching it, and rotating, retiring and revoking keys."""
