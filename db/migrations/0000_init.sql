CREATE TABLE `clusters` (
	`arn` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`tags_json` text DEFAULT '[]' NOT NULL,
	`settings_json` text DEFAULT '[]' NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clusters_name_unique` ON `clusters` (`name`);--> statement-breakpoint
CREATE TABLE `container_instances` (
	`arn` text PRIMARY KEY NOT NULL,
	`cluster_arn` text NOT NULL,
	`instance_id` text NOT NULL,
	`hostname` text NOT NULL,
	`status` text NOT NULL,
	`agent_connected` integer NOT NULL,
	`agent_version` text NOT NULL,
	`docker_version` text NOT NULL,
	`registered_cpu` integer NOT NULL,
	`registered_memory_mib` integer NOT NULL,
	`attributes_json` text DEFAULT '[]' NOT NULL,
	`custom_attributes_json` text DEFAULT '[]' NOT NULL,
	`tags_json` text DEFAULT '[]' NOT NULL,
	`registered_at_ms` integer NOT NULL,
	`last_seen_at_ms` integer NOT NULL,
	`version` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `container_instances_cluster` ON `container_instances` (`cluster_arn`,`registered_at_ms`);--> statement-breakpoint
CREATE UNIQUE INDEX `container_instances_instance_id` ON `container_instances` (`cluster_arn`,`instance_id`);--> statement-breakpoint
CREATE TABLE `join_tokens` (
	`token_sha256` text PRIMARY KEY NOT NULL,
	`cluster_name` text NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_task_requests` (
	`cluster_arn` text NOT NULL,
	`client_token` text NOT NULL,
	`request_sha256` text NOT NULL,
	`response_json` text NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `run_task_requests_token` ON `run_task_requests` (`cluster_arn`,`client_token`);--> statement-breakpoint
CREATE TABLE `task_definitions` (
	`arn` text PRIMARY KEY NOT NULL,
	`family` text NOT NULL,
	`revision` integer NOT NULL,
	`status` text NOT NULL,
	`body_json` text NOT NULL,
	`tags_json` text DEFAULT '[]' NOT NULL,
	`registered_at_ms` integer NOT NULL,
	`deregistered_at_ms` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `task_definitions_family_revision` ON `task_definitions` (`family`,`revision`);--> statement-breakpoint
CREATE TABLE `task_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`cluster_arn` text NOT NULL,
	`task_arn` text NOT NULL,
	`task_version` integer NOT NULL,
	`created_at_ms` integer NOT NULL,
	`event_json` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_events_cluster` ON `task_events` (`cluster_arn`,`id`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`arn` text PRIMARY KEY NOT NULL,
	`cluster_arn` text NOT NULL,
	`container_instance_arn` text,
	`task_definition_arn` text NOT NULL,
	`family` text NOT NULL,
	`revision` integer NOT NULL,
	`network_mode` text NOT NULL,
	`group_name` text NOT NULL,
	`started_by` text,
	`launch_type` text DEFAULT 'EC2' NOT NULL,
	`last_status` text NOT NULL,
	`desired_status` text NOT NULL,
	`generation` integer DEFAULT 1 NOT NULL,
	`report_seq` integer DEFAULT -1 NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`cpu` integer NOT NULL,
	`memory_mib` integer NOT NULL,
	`containers_json` text NOT NULL,
	`overrides_json` text DEFAULT '{}' NOT NULL,
	`tags_json` text DEFAULT '[]' NOT NULL,
	`stop_code` text,
	`stopped_reason` text,
	`created_at_ms` integer NOT NULL,
	`started_at_ms` integer,
	`pull_started_at_ms` integer,
	`pull_stopped_at_ms` integer,
	`stopping_at_ms` integer,
	`stopped_at_ms` integer,
	`execution_stopped_at_ms` integer,
	`client_token` text
);
--> statement-breakpoint
CREATE INDEX `tasks_cluster_desired` ON `tasks` (`cluster_arn`,`desired_status`,`created_at_ms`);--> statement-breakpoint
CREATE INDEX `tasks_instance` ON `tasks` (`container_instance_arn`,`desired_status`);--> statement-breakpoint
CREATE INDEX `tasks_cluster_family` ON `tasks` (`cluster_arn`,`family`);