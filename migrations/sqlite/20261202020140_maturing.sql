-- Add column "auto_approve_after" to table: "accounts"
ALTER TABLE `accounts` ADD COLUMN `auto_approve_after` integer NULL;
-- Create index "conversion_account_id_offer_id_status_created_at" to table: "conversions"
CREATE INDEX `conversion_account_id_offer_id_status_created_at` ON `conversions` (`account_id`, `offer_id`, `status`, `created_at`);
-- Add column "auto_approve_after" to table: "offers"
ALTER TABLE `offers` ADD COLUMN `auto_approve_after` integer NULL;
