ALTER TABLE `service_deployments` ADD `revision_id` text;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `adopted_json` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `breaker_json` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `outcome` text;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `rollback_json` text;--> statement-breakpoint
ALTER TABLE `service_deployments` ADD `rollback_of` text;--> statement-breakpoint
ALTER TABLE `services` ADD `failure_state_json` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `task_events` ADD `kind` text DEFAULT 'task-state-change' NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_cluster_group_stopped` ON `tasks` (`cluster_arn`,`group_name`,`stopped_at_ms`);