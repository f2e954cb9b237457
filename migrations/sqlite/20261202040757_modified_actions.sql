-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_conversion_status_changes" table
CREATE TABLE `new_conversion_status_changes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `from_status` text NULL, `to_status` text NOT NULL, `reason` text NULL, `source` text NOT NULL, `created_at` datetime NOT NULL, `kind` text NOT NULL DEFAULT ('STATUS'), `old_amount` integer NULL, `new_amount` integer NULL, `old_payout` integer NULL, `new_payout` integer NULL, `conversion_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `conversion_status_changes_conversions_history` FOREIGN KEY (`conversion_id`) REFERENCES `conversions` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversion_status_changes_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_conversion_status_changes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_conversion_status_changes", 21474836480);
-- Copy rows from old table "conversion_status_changes" to new temporary table "new_conversion_status_changes"
INSERT INTO `new_conversion_status_changes` (`id`, `from_status`, `to_status`, `reason`, `source`, `created_at`, `conversion_id`, `account_id`) SELECT `id`, `from_status`, `to_status`, `reason`, `source`, `created_at`, `conversion_id`, `account_id` FROM `conversion_status_changes`;
-- Drop "conversion_status_changes" table after copying rows
DROP TABLE `conversion_status_changes`;
-- Rename temporary table "new_conversion_status_changes" to "conversion_status_changes"
ALTER TABLE `new_conversion_status_changes` RENAME TO `conversion_status_changes`;
-- Create index "conversionstatuschange_conversion_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_conversion_id_created_at` ON `conversion_status_changes` (`conversion_id`, `created_at`);
-- Create index "conversionstatuschange_account_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_account_id_created_at` ON `conversion_status_changes` (`account_id`, `created_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
