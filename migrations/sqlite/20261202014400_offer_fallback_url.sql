-- Add column "fallback_url" to table: "offers"
ALTER TABLE `offers` ADD COLUMN `fallback_url` text NULL;
