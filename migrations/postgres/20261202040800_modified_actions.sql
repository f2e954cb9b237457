-- Modify "conversion_status_changes" table
ALTER TABLE "conversion_status_changes" ADD COLUMN "kind" character varying NOT NULL DEFAULT 'STATUS', ADD COLUMN "old_amount" bigint NULL, ADD COLUMN "new_amount" bigint NULL, ADD COLUMN "old_payout" bigint NULL, ADD COLUMN "new_payout" bigint NULL;
