CREATE TABLE `access_keys` (
	`access_key_id` text PRIMARY KEY NOT NULL,
	`principal_name` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`policies_json` text NOT NULL,
	`policy_name` text NOT NULL,
	`status` text NOT NULL,
	`created_at_ms` integer NOT NULL
);
