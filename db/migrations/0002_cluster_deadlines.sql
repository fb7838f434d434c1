CREATE TABLE `cluster_deadlines` (
	`cluster_arn` text NOT NULL,
	`name` text NOT NULL,
	`due_at_ms` integer NOT NULL,
	PRIMARY KEY(`cluster_arn`, `name`)
);
