-- Add column "reported_currency" to table: "conversions"
ALTER TABLE `conversions` ADD COLUMN `reported_currency` text NULL;
