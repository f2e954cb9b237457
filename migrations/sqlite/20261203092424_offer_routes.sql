-- Create "offer_routes" table
CREATE TABLE `offer_routes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `account_id` integer NOT NULL);
-- Set sequence for "offer_routes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("offer_routes", 81604378624);
-- Route every existing offer (gokart writes the route of each new one with it).
INSERT INTO offer_routes (id, account_id) SELECT id, account_id FROM offers;
