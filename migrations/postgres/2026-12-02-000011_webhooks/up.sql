-- Webhook subscriptions (变更推送订阅). The change feed is their outbox: every change's
-- feed row is written in the transaction that makes it, and each subscription records
-- how far its receiver has acknowledged the feed (delivered_through). A delivery in
-- progress is leased (lease_until) so that two instances never send it at once.
CREATE TABLE webhook_subscriptions (
    id                 BIGINT    NOT NULL PRIMARY KEY,
    version            BIGINT    NOT NULL,
    region_code        TEXT      NOT NULL REFERENCES regions (code),
    created_by         TEXT      NOT NULL,
    url                TEXT      NOT NULL,
    events             TEXT      NOT NULL,
    regions            TEXT      NOT NULL,
    sectors            TEXT      NOT NULL,
    programmes         TEXT      NOT NULL,
    description        TEXT      NOT NULL,
    secret             TEXT      NOT NULL,
    state              TEXT      NOT NULL,
    delivered_through  BIGINT    NOT NULL,
    failures           INTEGER   NOT NULL,
    next_attempt_at    TIMESTAMP,
    last_error         TEXT,
    last_delivered_at  TIMESTAMP,
    lease_until        TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
