"""Access rules: which key prefixes a principal may read, write and delete, and safe object keys."""
