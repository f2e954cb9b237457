-- Modify "postback_logs" table
ALTER TABLE "postback_logs" ADD COLUMN "test" boolean NOT NULL DEFAULT false;
