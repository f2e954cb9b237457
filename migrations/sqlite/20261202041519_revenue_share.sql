-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_offer_events" table
CREATE TABLE `new_offer_events` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `event_id` text NOT NULL, `match_key` text NOT NULL, `position` integer NOT NULL DEFAULT (0), `payout` integer NOT NULL DEFAULT (0), `cap_daily` integer NULL, `cap_weekly` integer NULL, `cap_monthly` integer NULL, `cap_total` integer NULL, `payout_type` text NOT NULL DEFAULT ('FIXED'), `payout_percent` integer NULL, `payout_cap` integer NULL, `allow_repeats` bool NOT NULL DEFAULT (false), `offer_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `offer_events_offers_events` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION, CONSTRAINT `offer_events_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "new_offer_events" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_offer_events", 30064771072);
-- Copy rows from old table "offer_events" to new temporary table "new_offer_events"
INSERT INTO `new_offer_events` (`id`, `created_at`, `updated_at`, `name`, `event_id`, `match_key`, `position`, `payout`, `cap_daily`, `cap_weekly`, `cap_monthly`, `cap_total`, `allow_repeats`, `offer_id`, `account_id`) SELECT `id`, `created_at`, `updated_at`, `name`, `event_id`, `match_key`, `position`, `payout`, `cap_daily`, `cap_weekly`, `cap_monthly`, `cap_total`, `allow_repeats`, `offer_id`, `account_id` FROM `offer_events`;
-- Drop "offer_events" table after copying rows
DROP TABLE `offer_events`;
-- Rename temporary table "new_offer_events" to "offer_events"
ALTER TABLE `new_offer_events` RENAME TO `offer_events`;
-- Create index "offerevent_account_id_offer_id_event_id" to table: "offer_events"
CREATE UNIQUE INDEX `offerevent_account_id_offer_id_event_id` ON `offer_events` (`account_id`, `offer_id`, `event_id`);
-- Create index "offerevent_account_id_offer_id_match_key" to table: "offer_events"
CREATE UNIQUE INDEX `offerevent_account_id_offer_id_match_key` ON `offer_events` (`account_id`, `offer_id`, `match_key`);
-- Create index "offerevent_offer_id_position" to table: "offer_events"
CREATE INDEX `offerevent_offer_id_position` ON `offer_events` (`offer_id`, `position`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
