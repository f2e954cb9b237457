-- Modify "offers" table
ALTER TABLE "offers" ADD COLUMN "fallback_url" character varying NULL;
