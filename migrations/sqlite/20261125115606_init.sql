-- Create "api_keys" table
CREATE TABLE `api_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL DEFAULT ('default'), `prefix` text NOT NULL, `hash` blob NOT NULL, `revoked_at` datetime NULL, `account_id` integer NOT NULL, CONSTRAINT `api_keys_accounts_api_keys` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Create index "api_keys_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX `api_keys_hash_key` ON `api_keys` (`hash`);
-- Create index "apikey_account_id" to table: "api_keys"
CREATE INDEX `apikey_account_id` ON `api_keys` (`account_id`);
-- Create "accounts" table
CREATE TABLE `accounts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `postback_key` text NOT NULL, `time_zone` text NOT NULL DEFAULT ('UTC'), `postback_allowlist` json NULL);
-- Set sequence for "accounts" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("accounts", 4294967296);
-- Create index "accounts_postback_key_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_postback_key_key` ON `accounts` (`postback_key`);
-- Create "advertisers" table
CREATE TABLE `advertisers` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `website` text NULL, `contact_name` text NULL, `contact_email` text NULL, `notes` text NULL, `account_id` integer NOT NULL, CONSTRAINT `advertisers_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "advertisers" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("advertisers", 8589934592);
-- Create index "advertiser_account_id_name" to table: "advertisers"
CREATE INDEX `advertiser_account_id_name` ON `advertisers` (`account_id`, `name`);
-- Create "offer_budget_shards" table
CREATE TABLE `offer_budget_shards` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `offer_id` integer NOT NULL, `shard` integer NOT NULL, `budget_total` integer NULL, `allotted` integer NOT NULL DEFAULT (0), `spent` integer NOT NULL DEFAULT (0), `account_id` integer NOT NULL, CONSTRAINT `offer_budget_shards_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "offer_budget_shards" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("offer_budget_shards", 38654705664);
-- Create index "budgetshard_account_id_offer_id_shard" to table: "offer_budget_shards"
CREATE UNIQUE INDEX `budgetshard_account_id_offer_id_shard` ON `offer_budget_shards` (`account_id`, `offer_id`, `shard`);
-- Create "clicks" table
CREATE TABLE `clicks` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `gk_click_id` text NOT NULL, `pub_member_id` text NULL, `pub_click_id` text NULL, `pub_sub_1` text NULL, `pub_sub_2` text NULL, `pub_sub_3` text NULL, `pub_sub_4` text NULL, `pub_sub_5` text NULL, `ip` text NULL, `user_agent` text NULL, `created_at` datetime NOT NULL, `account_id` integer NOT NULL, `offer_id` integer NOT NULL, CONSTRAINT `clicks_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `clicks_offers_clicks` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION);
-- Set sequence for "clicks" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("clicks", 12884901888);
-- Create index "clicks_gk_click_id_key" to table: "clicks"
CREATE UNIQUE INDEX `clicks_gk_click_id_key` ON `clicks` (`gk_click_id`);
-- Create index "click_account_id_created_at" to table: "clicks"
CREATE INDEX `click_account_id_created_at` ON `clicks` (`account_id`, `created_at`);
-- Create index "click_account_id_offer_id_created_at" to table: "clicks"
CREATE INDEX `click_account_id_offer_id_created_at` ON `clicks` (`account_id`, `offer_id`, `created_at`);
-- Create "conversions" table
CREATE TABLE `conversions` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `integration_system` text NOT NULL, `network_conversion_id` text NULL, `status` text NOT NULL, `reason` text NULL, `payout` integer NOT NULL DEFAULT (0), `amount` integer NULL, `currency` text NOT NULL, `pub_member_id` text NULL, `extras` json NULL, `budget_shard` integer NULL, `charged_counters` json NULL, `click_id` integer NOT NULL, `account_id` integer NOT NULL, `offer_id` integer NOT NULL, `offer_event_id` integer NOT NULL, CONSTRAINT `conversions_clicks_conversions` FOREIGN KEY (`click_id`) REFERENCES `clicks` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_offers_conversions` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversions_offer_events_conversions` FOREIGN KEY (`offer_event_id`) REFERENCES `offer_events` (`id`) ON DELETE NO ACTION);
-- Set sequence for "conversions" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("conversions", 17179869184);
-- Create index "conversion_account_id_integration_system_network_conversion_id" to table: "conversions"
CREATE UNIQUE INDEX `conversion_account_id_integration_system_network_conversion_id` ON `conversions` (`account_id`, `integration_system`, `network_conversion_id`);
-- Create index "conversion_account_id_click_id_offer_event_id" to table: "conversions"
CREATE UNIQUE INDEX `conversion_account_id_click_id_offer_event_id` ON `conversions` (`account_id`, `click_id`, `offer_event_id`);
-- Create index "conversion_account_id_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_created_at` ON `conversions` (`account_id`, `created_at`);
-- Create index "conversion_account_id_offer_id_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_id_created_at` ON `conversions` (`account_id`, `offer_id`, `created_at`);
-- Create index "conversion_offer_event_id_created_at" to table: "conversions"
CREATE INDEX `conversion_offer_event_id_created_at` ON `conversions` (`offer_event_id`, `created_at`);
-- Create index "conversion_offer_id_pub_member_id" to table: "conversions"
CREATE INDEX `conversion_offer_id_pub_member_id` ON `conversions` (`offer_id`, `pub_member_id`);
-- Create "conversion_status_changes" table
CREATE TABLE `conversion_status_changes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `from_status` text NULL, `to_status` text NOT NULL, `reason` text NULL, `source` text NOT NULL, `created_at` datetime NOT NULL, `conversion_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `conversion_status_changes_conversions_history` FOREIGN KEY (`conversion_id`) REFERENCES `conversions` (`id`) ON DELETE NO ACTION, CONSTRAINT `conversion_status_changes_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "conversion_status_changes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("conversion_status_changes", 21474836480);
-- Create index "conversionstatuschange_conversion_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_conversion_id_created_at` ON `conversion_status_changes` (`conversion_id`, `created_at`);
-- Create index "conversionstatuschange_account_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_account_id_created_at` ON `conversion_status_changes` (`account_id`, `created_at`);
-- Create "member_completions" table
CREATE TABLE `member_completions` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `offer_event_id` integer NOT NULL, `pub_member_id` text NOT NULL, `conversion_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `member_completions_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "member_completions" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("member_completions", 42949672960);
-- Create index "membercompletion_account_id_offer_event_id_pub_member_id" to table: "member_completions"
CREATE UNIQUE INDEX `membercompletion_account_id_offer_event_id_pub_member_id` ON `member_completions` (`account_id`, `offer_event_id`, `pub_member_id`);
-- Create index "membercompletion_account_id_conversion_id" to table: "member_completions"
CREATE INDEX `membercompletion_account_id_conversion_id` ON `member_completions` (`account_id`, `conversion_id`);
-- Create "offers" table
CREATE TABLE `offers` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `type` text NOT NULL, `integration_system` text NOT NULL, `status` text NOT NULL DEFAULT ('DRAFT'), `tracking_link` text NULL, `click_url_template` text NULL, `custom_click_id_param` text NULL, `custom_macros` json NULL, `headline` text NULL, `description` text NULL, `call_to_action` text NULL, `image_urls` json NULL, `terms` text NULL, `currency` text NOT NULL DEFAULT ('USD'), `budget_total` integer NULL, `budget_daily` integer NULL, `budget_spent` integer NOT NULL DEFAULT (0), `one_completion_per_member` bool NOT NULL DEFAULT (true), `cap_daily` integer NULL, `cap_weekly` integer NULL, `cap_monthly` integer NULL, `cap_total` integer NULL, `countries` json NULL, `platforms` json NULL, `starts_at` datetime NULL, `ends_at` datetime NULL, `time_zone` text NOT NULL DEFAULT ('UTC'), `published_at` datetime NULL, `advertiser_id` integer NULL, `account_id` integer NOT NULL, CONSTRAINT `offers_advertisers_offers` FOREIGN KEY (`advertiser_id`) REFERENCES `advertisers` (`id`) ON DELETE SET NULL, CONSTRAINT `offers_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "offers" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("offers", 25769803776);
-- Create index "offer_account_id_status" to table: "offers"
CREATE INDEX `offer_account_id_status` ON `offers` (`account_id`, `status`);
-- Create index "offer_account_id_advertiser_id" to table: "offers"
CREATE INDEX `offer_account_id_advertiser_id` ON `offers` (`account_id`, `advertiser_id`);
-- Create "offer_counters" table
CREATE TABLE `offer_counters` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `offer_id` integer NOT NULL, `key` text NOT NULL, `value` integer NOT NULL DEFAULT (0), `account_id` integer NOT NULL, CONSTRAINT `offer_counters_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "offer_counters" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("offer_counters", 47244640256);
-- Create index "offercounter_account_id_offer_id_key" to table: "offer_counters"
CREATE UNIQUE INDEX `offercounter_account_id_offer_id_key` ON `offer_counters` (`account_id`, `offer_id`, `key`);
-- Create "offer_events" table
CREATE TABLE `offer_events` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `event_id` text NOT NULL, `match_key` text NOT NULL, `position` integer NOT NULL DEFAULT (0), `payout` integer NOT NULL DEFAULT (0), `cap_daily` integer NULL, `cap_weekly` integer NULL, `cap_monthly` integer NULL, `cap_total` integer NULL, `offer_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `offer_events_offers_events` FOREIGN KEY (`offer_id`) REFERENCES `offers` (`id`) ON DELETE NO ACTION, CONSTRAINT `offer_events_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "offer_events" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("offer_events", 30064771072);
-- Create index "offerevent_account_id_offer_id_event_id" to table: "offer_events"
CREATE UNIQUE INDEX `offerevent_account_id_offer_id_event_id` ON `offer_events` (`account_id`, `offer_id`, `event_id`);
-- Create index "offerevent_account_id_offer_id_match_key" to table: "offer_events"
CREATE UNIQUE INDEX `offerevent_account_id_offer_id_match_key` ON `offer_events` (`account_id`, `offer_id`, `match_key`);
-- Create index "offerevent_offer_id_position" to table: "offer_events"
CREATE INDEX `offerevent_offer_id_position` ON `offer_events` (`offer_id`, `position`);
-- Create "postback_logs" table
CREATE TABLE `postback_logs` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `raw_query` text NOT NULL, `source_ip` text NULL, `outcome` text NOT NULL, `http_status` integer NOT NULL, `reason` text NULL, `offer_id` integer NULL, `created_at` datetime NOT NULL, `conversion_id` integer NULL, `account_id` integer NULL, CONSTRAINT `postback_logs_conversions_postback_logs` FOREIGN KEY (`conversion_id`) REFERENCES `conversions` (`id`) ON DELETE SET NULL, CONSTRAINT `postback_logs_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE SET NULL);
-- Set sequence for "postback_logs" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("postback_logs", 34359738368);
-- Create index "postbacklog_account_id_created_at" to table: "postback_logs"
CREATE INDEX `postbacklog_account_id_created_at` ON `postback_logs` (`account_id`, `created_at`);
-- Create index "postbacklog_account_id_outcome_created_at" to table: "postback_logs"
CREATE INDEX `postbacklog_account_id_outcome_created_at` ON `postback_logs` (`account_id`, `outcome`, `created_at`);
-- Create index "postbacklog_conversion_id" to table: "postback_logs"
CREATE INDEX `postbacklog_conversion_id` ON `postback_logs` (`conversion_id`);
-- Create "stats_click_rollups" table
CREATE TABLE `stats_click_rollups` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `offer_id` integer NOT NULL, `bucket` datetime NOT NULL, `clicks` integer NOT NULL DEFAULT (0), `members` blob NULL, `account_id` integer NOT NULL, CONSTRAINT `stats_click_rollups_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "stats_click_rollups" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("stats_click_rollups", 51539607552);
-- Create index "statsclickrollup_account_id_offer_id_bucket" to table: "stats_click_rollups"
CREATE UNIQUE INDEX `statsclickrollup_account_id_offer_id_bucket` ON `stats_click_rollups` (`account_id`, `offer_id`, `bucket`);
-- Create index "statsclickrollup_account_id_bucket" to table: "stats_click_rollups"
CREATE INDEX `statsclickrollup_account_id_bucket` ON `stats_click_rollups` (`account_id`, `bucket`);
-- Create "stats_conversion_rollups" table
CREATE TABLE `stats_conversion_rollups` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `offer_id` integer NOT NULL, `offer_event_id` integer NOT NULL, `bucket` datetime NOT NULL, `conversions` integer NOT NULL DEFAULT (0), `pending` integer NOT NULL DEFAULT (0), `approved` integer NOT NULL DEFAULT (0), `reversed` integer NOT NULL DEFAULT (0), `rejected` integer NOT NULL DEFAULT (0), `spend` integer NOT NULL DEFAULT (0), `account_id` integer NOT NULL, CONSTRAINT `stats_conversion_rollups_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "stats_conversion_rollups" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("stats_conversion_rollups", 55834574848);
-- Create index "statsconversionrollup_account_id_offer_id_bucket_offer_event_id" to table: "stats_conversion_rollups"
CREATE UNIQUE INDEX `statsconversionrollup_account_id_offer_id_bucket_offer_event_id` ON `stats_conversion_rollups` (`account_id`, `offer_id`, `bucket`, `offer_event_id`);
-- Create index "statsconversionrollup_account_id_bucket" to table: "stats_conversion_rollups"
CREATE INDEX `statsconversionrollup_account_id_bucket` ON `stats_conversion_rollups` (`account_id`, `bucket`);
-- Create "stats_watermark" table
CREATE TABLE `stats_watermark` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `rolled_up_to` datetime NOT NULL, `version` integer NOT NULL DEFAULT (0));
-- Set sequence for "stats_watermark" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("stats_watermark", 60129542144);
