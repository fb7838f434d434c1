CREATE TABLE `service_deployments` (
	`id` text PRIMARY KEY NOT NULL,
	`service_arn` text NOT NULL,
	`status` text NOT NULL,
	`task_definition_arn` text NOT NULL,
	`rollout_state` text NOT NULL,
	`rollout_state_reason` text NOT NULL,
	`failed_tasks` integer DEFAULT 0 NOT NULL,
	`created_at_ms` integer NOT NULL,
	`updated_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `service_deployments_service` ON `service_deployments` (`service_arn`,`status`);--> statement-breakpoint
CREATE TABLE `services` (
	`arn` text PRIMARY KEY NOT NULL,
	`cluster_arn` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`desired_count` integer NOT NULL,
	`task_definition_arn` text NOT NULL,
	`launch_type` text,
	`capacity_provider_strategy_json` text DEFAULT '[]' NOT NULL,
	`placement_constraints_json` text DEFAULT '[]' NOT NULL,
	`placement_strategy_json` text DEFAULT '[]' NOT NULL,
	`deployment_configuration_json` text NOT NULL,
	`scheduling_strategy` text DEFAULT 'REPLICA' NOT NULL,
	`propagate_tags` text DEFAULT 'NONE' NOT NULL,
	`enable_ecs_managed_tags` integer DEFAULT false NOT NULL,
	`enable_execute_command` integer DEFAULT false NOT NULL,
	`health_check_grace_period_seconds` integer DEFAULT 0 NOT NULL,
	`tags_json` text DEFAULT '[]' NOT NULL,
	`events_json` text DEFAULT '[]' NOT NULL,
	`client_token` text,
	`request_sha256` text NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `services_cluster_status` ON `services` (`cluster_arn`,`status`,`name`);