CREATE TABLE `account_settings` (
	`principal_arn` text NOT NULL,
	`name` text NOT NULL,
	`value` text NOT NULL,
	`updated_at_ms` integer NOT NULL,
	PRIMARY KEY(`principal_arn`, `name`)
);
--> statement-breakpoint
ALTER TABLE `clusters` ADD `configuration_json` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `clusters` ADD `service_connect_defaults_json` text;