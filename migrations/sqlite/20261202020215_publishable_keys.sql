-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_api_keys" table
CREATE TABLE `new_api_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL DEFAULT ('default'), `prefix` text NOT NULL, `hash` blob NOT NULL, `publishable` bool NOT NULL DEFAULT (false), `last_used_at` datetime NULL, `revoked_at` datetime NULL, `account_id` integer NOT NULL, CONSTRAINT `api_keys_accounts_api_keys` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Copy rows from old table "api_keys" to new temporary table "new_api_keys"
INSERT INTO `new_api_keys` (`id`, `created_at`, `updated_at`, `name`, `prefix`, `hash`, `last_used_at`, `revoked_at`, `account_id`) SELECT `id`, `created_at`, `updated_at`, `name`, `prefix`, `hash`, `last_used_at`, `revoked_at`, `account_id` FROM `api_keys`;
-- Drop "api_keys" table after copying rows
DROP TABLE `api_keys`;
-- Rename temporary table "new_api_keys" to "api_keys"
ALTER TABLE `new_api_keys` RENAME TO `api_keys`;
-- Create index "api_keys_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX `api_keys_hash_key` ON `api_keys` (`hash`);
-- Create index "apikey_account_id" to table: "api_keys"
CREATE INDEX `apikey_account_id` ON `api_keys` (`account_id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
