-- Create index "membercompletion_account_id_pub_member_id_offer_event_id" to table: "member_completions"
CREATE INDEX "membercompletion_account_id_pub_member_id_offer_event_id" ON "member_completions" ("account_id", "pub_member_id", "offer_event_id");
-- Drop index "offer_account_id_status" from table: "offers"
DROP INDEX "offer_account_id_status";
-- Create index "offer_account_id_status_id" to table: "offers"
CREATE INDEX "offer_account_id_status_id" ON "offers" ("account_id", "status", "id");
