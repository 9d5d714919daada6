"""The local edge: a CloudFront stand-in that verifies signatures and serves from S3."""
