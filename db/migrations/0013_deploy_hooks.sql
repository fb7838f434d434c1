CREATE TABLE `deploy_hooks` (
	`id` text PRIMARY KEY NOT NULL,
	`cluster_arn` text NOT NULL,
	`service_name` text NOT NULL,
	`provider` text NOT NULL,
	`containers_json` text DEFAULT '[]' NOT NULL,
	`branches_json` text DEFAULT '[]' NOT NULL,
	`tag_patterns_json` text DEFAULT '[]' NOT NULL,
	`repositories_json` text DEFAULT '[]' NOT NULL,
	`secrets_json` text NOT NULL,
	`created_at_ms` integer NOT NULL,
	`rotated_at_ms` integer
);
--> statement-breakpoint
CREATE TABLE `hook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`hook_id` text NOT NULL,
	`source_delivery_id` text,
	`dedupe_key` text,
	`provider` text NOT NULL,
	`event` text,
	`outcome` text NOT NULL,
	`status_code` integer NOT NULL,
	`reason` text,
	`repository` text,
	`branch` text,
	`tag` text,
	`digest` text,
	`commit_sha` text,
	`image` text,
	`deployment_id` text,
	`redelivery_of` text,
	`received_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hook_deliveries_dedupe` ON `hook_deliveries` (`hook_id`,`dedupe_key`);--> statement-breakpoint
CREATE INDEX `hook_deliveries_hook` ON `hook_deliveries` (`hook_id`,`received_at_ms`);--> statement-breakpoint
CREATE INDEX `hook_deliveries_outcome` ON `hook_deliveries` (`outcome`,`hook_id`);--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `trigger_json` text;