-- Drop index "conversion_offer_event_id_created_at" from table: "conversions"
DROP INDEX `conversion_offer_event_id_created_at`;
-- Drop index "conversion_offer_id_pub_member_id" from table: "conversions"
DROP INDEX `conversion_offer_id_pub_member_id`;
-- Create index "conversion_account_id_offer_event_id_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_event_id_created_at` ON `conversions` (`account_id`, `offer_event_id`, `created_at`);
-- Create index "conversion_account_id_offer_id_pub_member_id" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_id_pub_member_id` ON `conversions` (`account_id`, `offer_id`, `pub_member_id`);
-- Drop index "conversionstatuschange_conversion_id_created_at" from table: "conversion_status_changes"
DROP INDEX `conversionstatuschange_conversion_id_created_at`;
-- Create index "conversionstatuschange_account_id_conversion_id_created_at" to table: "conversion_status_changes"
CREATE INDEX `conversionstatuschange_account_id_conversion_id_created_at` ON `conversion_status_changes` (`account_id`, `conversion_id`, `created_at`);
-- Drop index "offerevent_offer_id_position" from table: "offer_events"
DROP INDEX `offerevent_offer_id_position`;
-- Create index "offerevent_account_id_offer_id_position" to table: "offer_events"
CREATE INDEX `offerevent_account_id_offer_id_position` ON `offer_events` (`account_id`, `offer_id`, `position`);
-- Drop index "callbackattempt_delivery_id_created_at" from table: "callback_attempts"
DROP INDEX `callbackattempt_delivery_id_created_at`;
-- Create index "callbackattempt_account_id_delivery_id_created_at" to table: "callback_attempts"
CREATE INDEX `callbackattempt_account_id_delivery_id_created_at` ON `callback_attempts` (`account_id`, `delivery_id`, `created_at`);
-- Drop index "postbacklog_conversion_id" from table: "postback_logs"
DROP INDEX `postbacklog_conversion_id`;
-- Create index "postbacklog_account_id_conversion_id" to table: "postback_logs"
CREATE INDEX `postbacklog_account_id_conversion_id` ON `postback_logs` (`account_id`, `conversion_id`);
