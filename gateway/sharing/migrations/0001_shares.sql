-- 0001: shares, and the grant tags and revocations of docs/design.md ("Sharing", "Revocation").
-- One file for SQLite and PostgreSQL: {serial} is the only word that differs (an increasing
-- integer key that is never reused), filled in by gateway/sharing/migrate.py.  IF NOT EXISTS: the
-- revocation tables may already have been made by gateway/sharing/revocation_store.py on this file.

CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    owner TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('prefix', 'path')),
    target TEXT NOT NULL,
    grantee_kind TEXT NOT NULL CHECK (grantee_kind IN ('user', 'group', 'anyone')),
    grantee TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT,
    revoked_at BIGINT
);

CREATE INDEX IF NOT EXISTS shares_by_owner ON shares (issuer, owner, created, id);

CREATE INDEX IF NOT EXISTS shares_by_target ON shares (target);

CREATE INDEX IF NOT EXISTS shares_by_grantee ON shares (grantee_kind, grantee, created, id);

-- One number per (principal, grant source); a source is a rule prefix (rule:<prefix>) or a share
-- (share:<id>).  gateway/common/revocation.py makes the tag from the number.
CREATE TABLE IF NOT EXISTS grant_tags (
    number {serial},
    principal TEXT NOT NULL,
    source TEXT NOT NULL,
    share INTEGER NOT NULL,
    created BIGINT NOT NULL,
    UNIQUE (principal, source)
);

CREATE INDEX IF NOT EXISTS grant_tags_by_source ON grant_tags (source);

-- A revoked tag, kept until every grant that carried it has expired.
CREATE TABLE IF NOT EXISTS revocations (
    tag BIGINT PRIMARY KEY,
    until BIGINT NOT NULL
);
