ALTER TABLE `join_tokens` ADD `expires_at_ms` integer;--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `uses_left` integer;