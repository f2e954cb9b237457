-- Modify "offer_events" table
ALTER TABLE "offer_events" ADD COLUMN "payout_type" character varying NOT NULL DEFAULT 'FIXED', ADD COLUMN "payout_percent" bigint NULL, ADD COLUMN "payout_cap" bigint NULL;
