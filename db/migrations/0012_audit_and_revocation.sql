CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at_ms` integer NOT NULL,
	`principal_name` text NOT NULL,
	`access_key_id` text,
	`action` text NOT NULL,
	`cluster_name` text,
	`resource` text NOT NULL,
	`outcome` text NOT NULL,
	`result` text NOT NULL,
	`source_address` text,
	`detail_json` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_at` ON `audit_events` (`at_ms`);--> statement-breakpoint
CREATE INDEX `audit_events_principal` ON `audit_events` (`principal_name`,`at_ms`);--> statement-breakpoint
CREATE INDEX `audit_events_cluster` ON `audit_events` (`cluster_name`,`at_ms`);--> statement-breakpoint
CREATE TABLE `audit_purge` (
	`id` integer PRIMARY KEY NOT NULL,
	`next_purge_at_ms` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `container_instances` ADD `credential_revoked_at_ms` integer;--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `revoked_at_ms` integer;--> statement-breakpoint
-- read-only keys may read task events, not the audit log: their stored policy named berth:Read*.
UPDATE `access_keys` SET `policies_json` = replace(`policies_json`, '"berth:Read*"', '"berth:ReadTaskEvents","berth:ReadHooks","berth:ReadTaskLogs"') WHERE `policy_name` = 'read-only';
