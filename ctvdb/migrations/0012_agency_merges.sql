-- v12: agencies people merge and alias (DOMAIN.md §7), and the queue's "later". A merged agency, or another spelling a
-- person named, is a row pointing at the agency it is: the import books its customers there.
ALTER TABLE agencies ADD COLUMN merged_into INTEGER REFERENCES agencies(id);
ALTER TABLE agencies ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- When a person last said "later" in the resolution queue: the customer waits behind the others.
ALTER TABLE customers ADD COLUMN review_later_at TEXT;
