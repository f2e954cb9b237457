-- Drop index "conversion_account_id_click_id_offer_event_id" from table: "conversions"
DROP INDEX "conversion_account_id_click_id_offer_event_id";
-- Modify "conversions" table
ALTER TABLE "conversions" ADD COLUMN "repeat_key" character varying NOT NULL DEFAULT '';
-- Create index "conversion_account_id_click_id_offer_event_id_repeat_key" to table: "conversions"
CREATE UNIQUE INDEX "conversion_account_id_click_id_offer_event_id_repeat_key" ON "conversions" ("account_id", "click_id", "offer_event_id", "repeat_key");
-- Modify "offer_events" table
ALTER TABLE "offer_events" ADD COLUMN "allow_repeats" boolean NOT NULL DEFAULT false;
