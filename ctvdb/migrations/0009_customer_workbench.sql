-- v9: the customer workbench (DOMAIN.md §7): people decide who a customer is, the import only
-- proposes. See schema.sql for what each table and column means.
ALTER TABLE customers ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE customers ADD COLUMN reviewed_at TEXT;
ALTER TABLE customers ADD COLUMN reviewed_by TEXT;
ALTER TABLE customers ADD COLUMN review_reason TEXT;
ALTER TABLE customers ADD COLUMN revenue_class TEXT NOT NULL DEFAULT 'regular' CHECK (revenue_class IN ('regular', 'irregular'));
ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers(id);
ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE bill_codes (
    code_key    TEXT PRIMARY KEY,
    bill_code   TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id)
) WITHOUT ROWID;
CREATE INDEX bill_codes_customer ON bill_codes (customer_id);

CREATE TABLE changes (
    id          INTEGER PRIMARY KEY,
    changed_at  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    summary     TEXT NOT NULL,
    undoes      INTEGER REFERENCES changes(id),
    undone_by   INTEGER REFERENCES changes(id)
);

CREATE TABLE change_objects (
    object_type TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    change_id   INTEGER NOT NULL REFERENCES changes(id),
    PRIMARY KEY (object_type, object_id, change_id)
) WITHOUT ROWID;

-- Every customer today is the customer of its own bill code; nobody has reviewed one yet.
INSERT INTO bill_codes (code_key, bill_code, customer_id)
SELECT identity_key,
       coalesce((SELECT s.bill_code FROM spots s WHERE s.customer_id = c.id LIMIT 1), identity_key), id
FROM customers c;
UPDATE customers SET review_reason = 'in the database before the workbench';
UPDATE customers SET revenue_class = 'irregular'
WHERE sector_code IN (SELECT code FROM sectors WHERE lower(name) = 'political' OR code = 'POL');
