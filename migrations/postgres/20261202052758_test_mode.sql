-- Modify "clicks" table
ALTER TABLE "clicks" ADD COLUMN "test" boolean NOT NULL DEFAULT false;
-- Modify "conversions" table
ALTER TABLE "conversions" ADD COLUMN "test" boolean NOT NULL DEFAULT false;
