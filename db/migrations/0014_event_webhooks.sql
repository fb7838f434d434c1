CREATE TABLE `event_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subscription_id` text NOT NULL,
	`cluster_arn` text NOT NULL,
	`event_row_id` integer NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at_ms` integer NOT NULL,
	`last_attempt_at_ms` integer,
	`last_status_code` integer,
	`last_error` text,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_deliveries_due` ON `event_deliveries` (`cluster_arn`,`status`,`next_attempt_at_ms`);--> statement-breakpoint
CREATE INDEX `event_deliveries_subscription` ON `event_deliveries` (`subscription_id`,`id`);--> statement-breakpoint
CREATE TABLE `event_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`event_types_json` text NOT NULL,
	`cluster_arn` text,
	`service_name` text,
	`secret_ciphertext` text NOT NULL,
	`state` text NOT NULL,
	`disabled_reason` text,
	`created_at_ms` integer NOT NULL
);--> statement-breakpoint
/*
 * The outbox: whatever records an event (a task's change, a deployment's, a service action, an
 * instance's) also queues its webhook deliveries, in the same statement, whichever code path wrote
 * it. A service filter matches a service's own events (detail.serviceName) and its tasks
 * (detail.group = service:NAME).
 */
CREATE TRIGGER `task_events_outbox` AFTER INSERT ON `task_events`
BEGIN
  INSERT INTO `event_deliveries`
    (`subscription_id`, `cluster_arn`, `event_row_id`, `event_id`, `event_type`, `status`, `attempts`, `next_attempt_at_ms`, `created_at_ms`)
  SELECT s.`id`, NEW.`cluster_arn`, NEW.`id`, json_extract(NEW.`event_json`, '$.id'), NEW.`kind`, 'PENDING', 0, NEW.`created_at_ms`, NEW.`created_at_ms`
  FROM `event_subscriptions` s
  WHERE s.`state` = 'ENABLED'
    AND (s.`cluster_arn` IS NULL OR s.`cluster_arn` = NEW.`cluster_arn`)
    AND EXISTS (SELECT 1 FROM json_each(s.`event_types_json`) t WHERE t.`value` = NEW.`kind`)
    AND (
      s.`service_name` IS NULL
      OR json_extract(NEW.`event_json`, '$.detail.serviceName') = s.`service_name`
      OR json_extract(NEW.`event_json`, '$.detail.group') = 'service:' || s.`service_name`
    );
END;
