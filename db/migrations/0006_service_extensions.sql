ALTER TABLE `service_deployments` ADD `paused_at_ms` integer;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `progress_at_ms` integer;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `progress_mark` integer;--> statement-breakpoint
ALTER TABLE `services` ADD `stopped_desired_count` integer;