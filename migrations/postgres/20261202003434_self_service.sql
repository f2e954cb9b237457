-- Modify "accounts" table
ALTER TABLE "accounts" ADD COLUMN "fallback_url" character varying NULL;
-- Modify "advertisers" table
ALTER TABLE "advertisers" ADD COLUMN "name_key" character varying NOT NULL DEFAULT '', ADD COLUMN "archived_at" timestamptz NULL;
-- Backfill "name_key": the name folded as the Ent hook folds it; a repeated name stays with its
-- oldest brand and the others get " #id", so that the unique index below can be built
UPDATE advertisers SET name_key = lower(trim(name)) || CASE WHEN EXISTS (SELECT 1 FROM advertisers b WHERE b.account_id = advertisers.account_id AND lower(trim(b.name)) = lower(trim(advertisers.name)) AND b.id < advertisers.id) THEN ' #' || advertisers.id ELSE '' END;
-- Create index "advertisers_account_name_key" to table: "advertisers"
CREATE UNIQUE INDEX "advertisers_account_name_key" ON "advertisers" ("account_id", "name_key") WHERE (archived_at IS NULL);
-- Modify "api_keys" table
ALTER TABLE "api_keys" ADD COLUMN "last_used_at" timestamptz NULL;
-- Modify "offers" table
ALTER TABLE "offers" ADD COLUMN "archived_at" timestamptz NULL;
