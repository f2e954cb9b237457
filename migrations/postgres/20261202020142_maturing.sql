-- Modify "accounts" table
ALTER TABLE "accounts" ADD COLUMN "auto_approve_after" bigint NULL;
-- Create index "conversion_account_id_offer_id_status_created_at" to table: "conversions"
CREATE INDEX "conversion_account_id_offer_id_status_created_at" ON "conversions" ("account_id", "offer_id", "status", "created_at");
-- Modify "offers" table
ALTER TABLE "offers" ADD COLUMN "auto_approve_after" bigint NULL;
