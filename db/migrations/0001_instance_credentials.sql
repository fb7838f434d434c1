ALTER TABLE `container_instances` ADD `reserved_ports_json` text DEFAULT '[22,2375,2376,51678,51679]' NOT NULL;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `credential_sha256` text;--> statement-breakpoint
ALTER TABLE `container_instances` ADD `registered_by_token_sha256` text;--> statement-breakpoint
CREATE INDEX `container_instances_registered_by` ON `container_instances` (`registered_by_token_sha256`,`registered_at_ms`);