-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_clicks" table
CREATE TABLE `new_clicks` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `gk_click_id` text NOT NULL, `pub_member_id` text NULL, `pub_click_id` text NULL, `pub_sub_1` text NULL, `pub_sub_2` text NULL, `pub_sub_3` text NULL, `pub_sub_4` text NULL, `pub_sub_5` text NULL, `ip` text NULL, `user_agent` text NULL, `created_at` datetime NOT NULL, `test` bool NOT NULL DEFAULT (false), `account_id` integer NOT NULL, `offer_id` integer NOT NULL, CONSTRAINT `clicks_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `clicks_offers_clicks` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_clicks" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_clicks", 12884901888);
-- Copy rows from old table "clicks" to new temporary table "new_clicks"
INSERT INTO `new_clicks` (`id`, `gk_click_id`, `pub_member_id`, `pub_click_id`, `pub_sub_1`, `pub_sub_2`, `pub_sub_3`, `pub_sub_4`, `pub_sub_5`, `ip`, `user_agent`, `created_at`, `account_id`, `offer_id`) SELECT `id`, `gk_click_id`, `pub_member_id`, `pub_click_id`, `pub_sub_1`, `pub_sub_2`, `pub_sub_3`, `pub_sub_4`, `pub_sub_5`, `ip`, `user_agent`, `created_at`, `account_id`, `offer_id` FROM `clicks`;
-- Drop "clicks" table after copying rows
DROP TABLE `clicks`;
-- Rename temporary table "new_clicks" to "clicks"
ALTER TABLE `new_clicks` RENAME TO `clicks`;
-- Create index "click_account_id_gk_click_id" to table: "clicks"
CREATE UNIQUE INDEX `click_account_id_gk_click_id` ON `clicks` (`account_id`, `gk_click_id`);
-- Create index "click_account_id_created_at" to table: "clicks"
CREATE INDEX `click_account_id_created_at` ON `clicks` (`account_id`, `created_at`);
-- Create index "click_account_id_offer_id_created_at" to table: "clicks"
CREATE INDEX `click_account_id_offer_id_created_at` ON `clicks` (`account_id`, `offer_id`, `created_at`);
-- Create "new_conversions" table
CREATE TABLE `new_conversions` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `integration_system` text NOT NULL, `network_conversion_id` text NULL, `status` text NOT NULL, `reason` text NULL, `payout` integer NOT NULL DEFAULT (0), `amount` integer NULL, `currency` text NOT NULL, `reported_currency` text NULL, `pub_member_id` text NULL, `extras` json NULL, `repeat_key` text NOT NULL DEFAULT (''), `budget_shard` integer NULL, `charged_counters` json NULL, `test` bool NOT NULL DEFAULT (false), `click_id` integer NOT NULL, `account_id` integer NOT NULL, `offer_id` integer NOT NULL, `offer_event_id` integer NOT NULL, CONSTRAINT `conversions_clicks_conversions` FOREIGN KEY (`click_id`) REFERENCES `clicks` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_offers_conversions` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_offer_events_conversions` FOREIGN KEY (`offer_event_id`) REFERENCES `offer_events` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_conversions" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_conversions", 17179869184);
-- Copy rows from old table "conversions" to new temporary table "new_conversions"
INSERT INTO `new_conversions` (`id`, `created_at`, `updated_at`, `integration_system`, `network_conversion_id`, `status`, `reason`, `payout`, `amount`, `currency`, `reported_currency`, `pub_member_id`, `extras`, `repeat_key`, `budget_shard`, `charged_counters`, `click_id`, `account_id`, `offer_id`, `offer_event_id`) SELECT `id`, `created_at`, `updated_at`, `integration_system`, `network_conversion_id`, `status`, `reason`, `payout`, `amount`, `currency`, `reported_currency`, `pub_member_id`, `extras`, `repeat_key`, `budget_shard`, `charged_counters`, `click_id`, `account_id`, `offer_id`, `offer_event_id` FROM `conversions`;
-- Drop "conversions" table after copying rows
DROP TABLE `conversions`;
-- Rename temporary table "new_conversions" to "conversions"
ALTER TABLE `new_conversions` RENAME TO `conversions`;
-- Create index "conversion_account_id_integration_system_network_conversion_id" to table: "conversions"
CREATE UNIQUE INDEX `conversion_account_id_integration_system_network_conversion_id` ON `conversions` (`account_id`, `integration_system`, `network_conversion_id`);
-- Create index "conversion_account_id_click_id_offer_event_id_repeat_key" to table: "conversions"
CREATE UNIQUE INDEX `conversion_account_id_click_id_offer_event_id_repeat_key` ON `conversions` (`account_id`, `click_id`, `offer_event_id`, `repeat_key`);
-- Create index "conversion_account_id_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_created_at` ON `conversions` (`account_id`, `created_at`);
-- Create index "conversion_account_id_offer_id_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_id_created_at` ON `conversions` (`account_id`, `offer_id`, `created_at`);
-- Create index "conversion_account_id_offer_event_id_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_event_id_created_at` ON `conversions` (`account_id`, `offer_event_id`, `created_at`);
-- Create index "conversion_account_id_offer_id_pub_member_id" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_id_pub_member_id` ON `conversions` (`account_id`, `offer_id`, `pub_member_id`);
-- Create index "conversion_account_id_offer_id_status_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_id_status_created_at` ON `conversions` (`account_id`, `offer_id`, `status`, `created_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
