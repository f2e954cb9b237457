-- Create "callback_attempts" table
CREATE TABLE `callback_attempts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `http_status` integer NULL, `duration_ms` integer NOT NULL, `response` text NULL, `error` text NULL, `account_id` integer NOT NULL, `delivery_id` integer NOT NULL, CONSTRAINT `callback_attempts_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `callback_attempts_callback_deliveries_attempt_log` FOREIGN KEY (`delivery_id`) REFERENCES `callback_deliveries` (`id`) ON DELETE NO ACTION);
-- Set sequence for "callback_attempts" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("callback_attempts", 68719476736);
-- Create index "callbackattempt_delivery_id_created_at" to table: "callback_attempts"
CREATE INDEX `callbackattempt_delivery_id_created_at` ON `callback_attempts` (`delivery_id`, `created_at`);
-- Create "callback_deliveries" table
CREATE TABLE `callback_deliveries` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `conversion_id` integer NULL, `sequence` integer NOT NULL, `event` text NOT NULL, `from_status` text NULL, `to_status` text NOT NULL, `status` text NOT NULL DEFAULT ('PENDING'), `attempts` integer NOT NULL DEFAULT (0), `next_attempt_at` datetime NOT NULL, `lease_until` datetime NULL, `lease_owner` text NULL, `delivered_at` datetime NULL, `last_error` text NULL, `created_at` datetime NOT NULL, `account_id` integer NOT NULL, `endpoint_id` integer NOT NULL, CONSTRAINT `callback_deliveries_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `callback_deliveries_callback_endpoints_deliveries` FOREIGN KEY (`endpoint_id`) REFERENCES `callback_endpoints` (`id`) ON DELETE NO ACTION);
-- Set sequence for "callback_deliveries" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("callback_deliveries", 73014444032);
-- Create index "callbackdelivery_account_id_endpoint_id_conversion_id_sequence" to table: "callback_deliveries"
CREATE UNIQUE INDEX `callbackdelivery_account_id_endpoint_id_conversion_id_sequence` ON `callback_deliveries` (`account_id`, `endpoint_id`, `conversion_id`, `sequence`);
-- Create index "callbackdelivery_status_next_attempt_at" to table: "callback_deliveries"
CREATE INDEX `callbackdelivery_status_next_attempt_at` ON `callback_deliveries` (`status`, `next_attempt_at`);
-- Create "callback_endpoints" table
CREATE TABLE `callback_endpoints` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `url` text NOT NULL, `format` text NOT NULL DEFAULT ('JSON'), `events` json NOT NULL, `offer_id` integer NULL, `offer_event_id` integer NULL, `header_name` text NULL, `header_value` text NULL, `secret` text NOT NULL, `enabled` bool NOT NULL DEFAULT (true), `disabled_reason` text NULL, `failing_since` datetime NULL, `account_id` integer NOT NULL, CONSTRAINT `callback_endpoints_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Set sequence for "callback_endpoints" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("callback_endpoints", 77309411328);
-- Create index "callbackendpoint_account_id_enabled" to table: "callback_endpoints"
CREATE INDEX `callbackendpoint_account_id_enabled` ON `callback_endpoints` (`account_id`, `enabled`);
