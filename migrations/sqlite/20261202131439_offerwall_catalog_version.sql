-- Create index "offer_account_id_updated_at" to table: "offers"
CREATE INDEX `offer_account_id_updated_at` ON `offers` (`account_id`, `updated_at`);
-- Create index "offerevent_account_id_updated_at" to table: "offer_events"
CREATE INDEX `offerevent_account_id_updated_at` ON `offer_events` (`account_id`, `updated_at`);
