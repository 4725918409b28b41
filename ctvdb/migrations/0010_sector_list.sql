-- v10: the sector list people edit (DOMAIN.md §7): add, rename, retire. A retired sector keeps its
-- customers and its history; it is only no longer offered for new assignments. The seed list
-- gains the sectors DOMAIN.md names that it lacked (existing names are people's and stay).
ALTER TABLE sectors ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
INSERT OR IGNORE INTO sectors (code, name) VALUES
    ('CASINO', 'Casino & Gaming'),
    ('EDU', 'Education'),
    ('POL', 'Political');
-- A customer in the Political sector starts irregular (political campaigns are not regular revenue).
UPDATE customers SET revenue_class = 'irregular', version = version + 1
WHERE sector_code = 'POL' AND revenue_class = 'regular';
