-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_postback_logs" table
CREATE TABLE `new_postback_logs` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `raw_query` text NOT NULL, `source_ip` text NULL, `outcome` text NOT NULL, `http_status` integer NOT NULL, `reason` text NULL, `offer_id` integer NULL, `test` bool NOT NULL DEFAULT (false), `created_at` datetime NOT NULL, `conversion_id` integer NULL, `account_id` integer NOT NULL, CONSTRAINT `postback_logs_conversions_postback_logs` FOREIGN KEY (`conversion_id`) REFERENCES `conversions` (`id`) ON DELETE SET NULL, CONSTRAINT `postback_logs_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_postback_logs" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_postback_logs", 34359738368);
-- Copy rows from old table "postback_logs" to new temporary table "new_postback_logs"
INSERT INTO `new_postback_logs` (`id`, `raw_query`, `source_ip`, `outcome`, `http_status`, `reason`, `offer_id`, `created_at`, `conversion_id`, `account_id`) SELECT `id`, `raw_query`, `source_ip`, `outcome`, `http_status`, `reason`, `offer_id`, `created_at`, `conversion_id`, `account_id` FROM `postback_logs`;
-- Drop "postback_logs" table after copying rows
DROP TABLE `postback_logs`;
-- Rename temporary table "new_postback_logs" to "postback_logs"
ALTER TABLE `new_postback_logs` RENAME TO `postback_logs`;
-- Create index "postbacklog_account_id_created_at" to table: "postback_logs"
CREATE INDEX `postbacklog_account_id_created_at` ON `postback_logs` (`account_id`, `created_at`);
-- Create index "postbacklog_account_id_outcome_created_at" to table: "postback_logs"
CREATE INDEX `postbacklog_account_id_outcome_created_at` ON `postback_logs` (`account_id`, `outcome`, `created_at`);
-- Create index "postbacklog_account_id_conversion_id" to table: "postback_logs"
CREATE INDEX `postbacklog_account_id_conversion_id` ON `postback_logs` (`account_id`, `conversion_id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
