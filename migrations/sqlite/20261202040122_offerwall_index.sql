-- Drop index "offer_account_id_status" from table: "offers"
DROP INDEX `offer_account_id_status`;
-- Create index "offer_account_id_status_id" to table: "offers"
CREATE INDEX `offer_account_id_status_id` ON `offers` (`account_id`, `status`, `id`);
