-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Add column "last_used_at" to table: "api_keys"
ALTER TABLE `api_keys` ADD COLUMN `last_used_at` datetime NULL;
-- Add column "fallback_url" to table: "accounts"
ALTER TABLE `accounts` ADD COLUMN `fallback_url` text NULL;
-- Create "new_advertisers" table
CREATE TABLE `new_advertisers` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `website` text NULL, `contact_name` text NULL, `contact_email` text NULL, `notes` text NULL, `name_key` text NOT NULL DEFAULT (''), `archived_at` datetime NULL, `account_id` integer NOT NULL, CONSTRAINT `advertisers_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_advertisers" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_advertisers", 8589934592);
-- Copy rows from old table "advertisers" to new temporary table "new_advertisers"
INSERT INTO `new_advertisers` (`id`, `created_at`, `updated_at`, `name`, `website`, `contact_name`, `contact_email`, `notes`, `account_id`) SELECT `id`, `created_at`, `updated_at`, `name`, `website`, `contact_name`, `contact_email`, `notes`, `account_id` FROM `advertisers`;
-- Drop "advertisers" table after copying rows
DROP TABLE `advertisers`;
-- Rename temporary table "new_advertisers" to "advertisers"
ALTER TABLE `new_advertisers` RENAME TO `advertisers`;
-- Create index "advertiser_account_id_name" to table: "advertisers"
CREATE INDEX `advertiser_account_id_name` ON `advertisers` (`account_id`, `name`);
-- Backfill "name_key": the name folded as the Ent hook folds it; a repeated name stays with its
-- oldest brand and the others get " #id", so that the unique index below can be built
UPDATE advertisers SET name_key = lower(trim(name)) || CASE WHEN EXISTS (SELECT 1 FROM advertisers b WHERE b.account_id = advertisers.account_id AND lower(trim(b.name)) = lower(trim(advertisers.name)) AND b.id < advertisers.id) THEN ' #' || advertisers.id ELSE '' END;
-- Create index "advertisers_account_name_key" to table: "advertisers"
CREATE UNIQUE INDEX `advertisers_account_name_key` ON `advertisers` (`account_id`, `name_key`) WHERE archived_at IS NULL;
-- Add column "archived_at" to table: "offers"
ALTER TABLE `offers` ADD COLUMN `archived_at` datetime NULL;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
