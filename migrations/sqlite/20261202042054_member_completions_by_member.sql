-- Create index "membercompletion_account_id_pub_member_id_offer_event_id" to table: "member_completions"
CREATE INDEX `membercompletion_account_id_pub_member_id_offer_event_id` ON `member_completions` (`account_id`, `pub_member_id`, `offer_event_id`);
