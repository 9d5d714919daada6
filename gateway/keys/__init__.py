"""Key lifecycle: publish, switch, drain, retire (DESIGN 6, research/cloudfront.md 1.8)."""
