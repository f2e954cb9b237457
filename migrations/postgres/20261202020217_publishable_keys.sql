-- Modify "api_keys" table
ALTER TABLE "api_keys" ADD COLUMN "publishable" boolean NOT NULL DEFAULT false;
