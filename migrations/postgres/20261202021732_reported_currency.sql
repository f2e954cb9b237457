-- Modify "conversions" table
ALTER TABLE "conversions" ADD COLUMN "reported_currency" character varying NULL;
