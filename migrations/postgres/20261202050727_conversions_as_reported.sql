-- Modify "conversion_status_changes" table
ALTER TABLE "conversion_status_changes" ADD COLUMN "kind" character varying NOT NULL DEFAULT 'STATUS', ADD COLUMN "old_amount" bigint NULL, ADD COLUMN "new_amount" bigint NULL, ADD COLUMN "old_payout" bigint NULL, ADD COLUMN "new_payout" bigint NULL;
-- Drop index "conversion_account_id_click_id_offer_event_id" from table: "conversions"
DROP INDEX "conversion_account_id_click_id_offer_event_id";
-- Modify "conversions" table
ALTER TABLE "conversions" ADD COLUMN "repeat_key" character varying NOT NULL DEFAULT '';
-- Create index "conversion_account_id_click_id_offer_event_id_repeat_key" to table: "conversions"
CREATE UNIQUE INDEX "conversion_account_id_click_id_offer_event_id_repeat_key" ON "conversions" ("account_id", "click_id", "offer_event_id", "repeat_key");
-- Modify "offer_events" table
ALTER TABLE "offer_events" ADD COLUMN "payout_type" character varying NOT NULL DEFAULT 'FIXED', ADD COLUMN "payout_percent" bigint NULL, ADD COLUMN "payout_cap" bigint NULL, ADD COLUMN "allow_repeats" boolean NOT NULL DEFAULT false;
