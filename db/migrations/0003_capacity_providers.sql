CREATE TABLE `capacity_providers` (
	`arn` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`auto_scaling_group_provider_json` text NOT NULL,
	`update_status` text,
	`update_status_reason` text,
	`tags_json` text DEFAULT '[]' NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `capacity_providers_name_unique` ON `capacity_providers` (`name`);--> statement-breakpoint
ALTER TABLE `clusters` ADD `capacity_providers_json` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `clusters` ADD `default_capacity_provider_strategy_json` text DEFAULT '[]' NOT NULL;