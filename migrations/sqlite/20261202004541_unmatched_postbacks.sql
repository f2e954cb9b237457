-- Create "unmatched_postbacks" table
CREATE TABLE `unmatched_postbacks` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `source_ip` text NOT NULL, `reason` text NOT NULL, `hour` datetime NOT NULL, `count` integer NOT NULL DEFAULT (1), `sample_query` text NOT NULL, `last_seen` datetime NOT NULL);
-- Set sequence for "unmatched_postbacks" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("unmatched_postbacks", 64424509440);
-- Create index "unmatchedpostback_source_ip_reason_hour" to table: "unmatched_postbacks"
CREATE UNIQUE INDEX `unmatchedpostback_source_ip_reason_hour` ON `unmatched_postbacks` (`source_ip`, `reason`, `hour`);
-- Create index "unmatchedpostback_hour" to table: "unmatched_postbacks"
CREATE INDEX `unmatchedpostback_hour` ON `unmatched_postbacks` (`hour`);
