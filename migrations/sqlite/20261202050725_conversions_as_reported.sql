-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_conversions" table
CREATE TABLE `new_conversions` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `integration_system` text NOT NULL, `network_conversion_id` text NULL, `status` text NOT NULL, `reason` text NULL, `payout` integer NOT NULL DEFAULT (0), `amount` integer NULL, `currency` text NOT NULL, `reported_currency` text NULL, `pub_member_id` text NULL, `extras` json NULL, `repeat_key` text NOT NULL DEFAULT (''), `budget_shard` integer NULL, `charged_counters` json NULL, `click_id` integer NOT NULL, `account_id` integer NOT NULL, `offer_id` integer NOT NULL, `offer_event_id` integer NOT NULL, CONSTRAINT `conversions_clicks_conversions` FOREIGN KEY (`click_id`) REFERENCES `clicks` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_offers_conversions` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_offer_events_conversions` FOREIGN KEY (`offer_event_id`) REFERENCES `offer_events` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_conversions" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_conversions", 17179869184);
-- Copy rows from old table "conversions" to new temporary table "new_conversions"
INSERT INTO `new_conversions` (`id`, `created_at`, `updated_at`, `integration_system`, `network_conversion_id`, `status`, `reason`, `payout`, `amount`, `currency`, `reported_currency`, `pub_member_id`, `extras`, `budget_shard`, `charged_counters`, `click_id`, `account_id`, `offer_id`, `offer_event_id`) SELECT `id`, `created_at`, `updated_at`, `integration_system`, `network_conversion_id`, `status`, `reason`, `payout`, `amount`, `currency`, `reported_currency`, `pub_member_id`, `extras`, `budget_shard`, `charged_counters`, `click_id`, `account_id`, `offer_id`, `offer_event_id` FROM `conversions`;
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
-- Create index "conversionstatuschange_account_id_conversion_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_account_id_conversion_id_created_at` ON `conversion_status_changes` (`account_id`, `conversion_id`, `created_at`);
-- Create index "conversionstatuschange_account_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_account_id_created_at` ON `conversion_status_changes` (`account_id`, `created_at`);
-- Create "new_offer_events" table
CREATE TABLE `new_offer_events` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `event_id` text NOT NULL, `match_key` text NOT NULL, `position` integer NOT NULL DEFAULT (0), `payout` integer NOT NULL DEFAULT (0), `cap_daily` integer NULL, `cap_weekly` integer NULL, `cap_monthly` integer NULL, `cap_total` integer NULL, `payout_type` text NOT NULL DEFAULT ('FIXED'), `payout_percent` integer NULL, `payout_cap` integer NULL, `allow_repeats` bool NOT NULL DEFAULT (false), `offer_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `offer_events_offers_events` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION, CONSTRAINT `offer_events_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_offer_events" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_offer_events", 30064771072);
-- Copy rows from old table "offer_events" to new temporary table "new_offer_events"
INSERT INTO `new_offer_events` (`id`, `created_at`, `updated_at`, `name`, `event_id`, `match_key`, `position`, `payout`, `cap_daily`, `cap_weekly`, `cap_monthly`, `cap_total`, `offer_id`, `account_id`) SELECT `id`, `created_at`, `updated_at`, `name`, `event_id`, `match_key`, `position`, `payout`, `cap_daily`, `cap_weekly`, `cap_monthly`, `cap_total`, `offer_id`, `account_id` FROM `offer_events`;
-- Drop "offer_events" table after copying rows
DROP TABLE `offer_events`;
-- Rename temporary table "new_offer_events" to "offer_events"
ALTER TABLE `new_offer_events` RENAME TO `offer_events`;
-- Create index "offerevent_account_id_offer_id_event_id" to table: "offer_events"
CREATE UNIQUE INDEX `offerevent_account_id_offer_id_event_id` ON `offer_events` (`account_id`, `offer_id`, `event_id`);
-- Create index "offerevent_account_id_offer_id_match_key" to table: "offer_events"
CREATE UNIQUE INDEX `offerevent_account_id_offer_id_match_key` ON `offer_events` (`account_id`, `offer_id`, `match_key`);
-- Create index "offerevent_account_id_offer_id_position" to table: "offer_events"
CREATE INDEX `offerevent_account_id_offer_id_position` ON `offer_events` (`account_id`, `offer_id`, `position`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
