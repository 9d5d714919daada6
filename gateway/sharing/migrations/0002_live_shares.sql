-- 0002: index live shares only (docs/design.md, "Sharing").  A deleted share stays a row until the
-- store purges it, and every lookup filters on revoked_at IS NULL: partial indexes leave deleted
-- rows out, so create-then-delete churn no longer lengthens what a lookup walks.  Expired rows
-- cannot be left out of an index (the clock moves) and are purged instead.  Both SQLite and
-- PostgreSQL use a partial index when the query's WHERE implies the index's.

DROP INDEX IF EXISTS shares_by_owner;

DROP INDEX IF EXISTS shares_by_target;

DROP INDEX IF EXISTS shares_by_grantee;

CREATE INDEX IF NOT EXISTS shares_live_by_owner ON shares (issuer, owner, created, id)
    WHERE revoked_at IS NULL;

CREATE INDEX IF NOT EXISTS shares_live_by_target ON shares (target, grantee_kind, grantee)
    WHERE revoked_at IS NULL;

CREATE INDEX IF NOT EXISTS shares_live_by_grantee ON shares (grantee_kind, grantee, created, id)
    WHERE revoked_at IS NULL;

-- For the purge: deleted rows by when, and rows that expire by when.
CREATE INDEX IF NOT EXISTS shares_revoked ON shares (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE INDEX IF NOT EXISTS shares_expiring ON shares (expires) WHERE expires IS NOT NULL;

-- For the purge: share tags by when they were made (a tag made as its share was deleted).
CREATE INDEX IF NOT EXISTS grant_tags_share_created ON grant_tags (created) WHERE share = 1;
