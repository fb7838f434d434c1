CREATE TABLE `exec_sessions` (
	`session_id` text PRIMARY KEY NOT NULL,
	`cluster_arn` text NOT NULL,
	`cluster_name` text NOT NULL,
	`task_arn` text NOT NULL,
	`container_name` text NOT NULL,
	`container_runtime_id` text NOT NULL,
	`container_instance_arn` text NOT NULL,
	`command` text NOT NULL,
	`interactive` integer NOT NULL,
	`principal` text NOT NULL,
	`token_hash` text,
	`token_expires_at_ms` integer,
	`token_used_at_ms` integer,
	`logging` integer DEFAULT false NOT NULL,
	`started_at_ms` integer NOT NULL,
	`ended_at_ms` integer,
	`exit_code` integer,
	`end_reason` text
);
--> statement-breakpoint
CREATE INDEX `exec_sessions_cluster_started` ON `exec_sessions` (`cluster_arn`,`started_at_ms`);--> statement-breakpoint
CREATE TABLE `exec_transcript_chunks` (
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`data_base64` text NOT NULL,
	PRIMARY KEY(`session_id`, `seq`)
);
--> statement-breakpoint
ALTER TABLE `tasks` ADD `enable_execute_command` integer DEFAULT false NOT NULL;