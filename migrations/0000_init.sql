CREATE TABLE `api_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`key_hash` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`last_used_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_idx` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_user_id_idx` ON `api_keys` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`password_hash` text NOT NULL,
	`is_superuser` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_idx` ON `users` (`email`);--> statement-breakpoint
CREATE TABLE `datasets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` integer NOT NULL,
	`name` text NOT NULL,
	`is_public` integer DEFAULT false NOT NULL,
	`is_archived` integer DEFAULT false NOT NULL,
	`license` text,
	`image_count` integer DEFAULT 0 NOT NULL,
	`size_in_bytes` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `datasets_owner_id_name_idx` ON `datasets` (`owner_id`,`name`);--> statement-breakpoint
CREATE INDEX `datasets_owner_id_archived_id_idx` ON `datasets` (`owner_id`,`is_archived`,`id`);--> statement-breakpoint
CREATE INDEX `datasets_public_id_idx` ON `datasets` (`is_public`,`id`);--> statement-breakpoint
CREATE TABLE `folders` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dataset_id` integer NOT NULL,
	`parent_id` integer,
	`name` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`parent_id`) REFERENCES `folders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `folders_dataset_id_parent_id_id_idx` ON `folders` (`dataset_id`,`parent_id`,`id`);--> statement-breakpoint
CREATE TABLE `blob_gc` (
	`r2_key` text PRIMARY KEY NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `images` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dataset_id` integer NOT NULL,
	`folder_id` integer,
	`original_name` text NOT NULL,
	`sha256` text NOT NULL,
	`r2_key` text NOT NULL,
	`linked` integer DEFAULT false NOT NULL,
	`mime` text NOT NULL,
	`size` integer NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`upload_session_id` text,
	`pyramid_status` text,
	`pyramid_levels` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`folder_id`) REFERENCES `folders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `images_dataset_id_original_name_idx` ON `images` (`dataset_id`,`original_name`);--> statement-breakpoint
CREATE INDEX `images_dataset_id_idx` ON `images` (`dataset_id`);--> statement-breakpoint
CREATE INDEX `images_dataset_id_folder_id_id_idx` ON `images` (`dataset_id`,`folder_id`,`id`);--> statement-breakpoint
CREATE INDEX `images_sha256_idx` ON `images` (`sha256`);--> statement-breakpoint
CREATE INDEX `images_r2_key_idx` ON `images` (`r2_key`);--> statement-breakpoint
CREATE TABLE `annotation_classes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`annotation_id` integer NOT NULL,
	`object_id` integer,
	`set_id` integer NOT NULL,
	`image_id` integer NOT NULL,
	`class_id` integer NOT NULL,
	`score` real,
	FOREIGN KEY (`annotation_id`) REFERENCES `annotations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`object_id`) REFERENCES `annotation_objects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`class_id`) REFERENCES `classes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `annotation_classes_set_id_class_id_image_id_idx` ON `annotation_classes` (`set_id`,`class_id`,`image_id`);--> statement-breakpoint
CREATE INDEX `annotation_classes_set_id_image_id_idx` ON `annotation_classes` (`set_id`,`image_id`);--> statement-breakpoint
CREATE INDEX `annotation_classes_object_id_idx` ON `annotation_classes` (`object_id`);--> statement-breakpoint
CREATE INDEX `annotation_classes_annotation_id_idx` ON `annotation_classes` (`annotation_id`);--> statement-breakpoint
CREATE TABLE `annotation_objects` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`annotation_id` integer NOT NULL,
	`set_id` integer NOT NULL,
	`image_id` integer NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`kind` text NOT NULL,
	`coordinates` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`annotation_id`) REFERENCES `annotations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `annotation_objects_set_id_image_id_idx` ON `annotation_objects` (`set_id`,`image_id`);--> statement-breakpoint
CREATE INDEX `annotation_objects_annotation_id_idx` ON `annotation_objects` (`annotation_id`);--> statement-breakpoint
CREATE TABLE `annotation_set_classes` (
	`set_id` integer NOT NULL,
	`class_id` integer NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`object_count` integer DEFAULT 0 NOT NULL,
	`image_count` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`set_id`, `class_id`),
	FOREIGN KEY (`set_id`) REFERENCES `annotation_sets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`class_id`) REFERENCES `classes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `annotation_set_classes_class_id_idx` ON `annotation_set_classes` (`class_id`);--> statement-breakpoint
CREATE TABLE `annotation_sets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dataset_id` integer NOT NULL,
	`name` text NOT NULL,
	`task` text NOT NULL,
	`last_annotated_at` text,
	`annotated_images` integer DEFAULT 0 NOT NULL,
	`done_count` integer DEFAULT 0 NOT NULL,
	`skipped_count` integer DEFAULT 0 NOT NULL,
	`total_objects` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `annotation_sets_dataset_id_name_idx` ON `annotation_sets` (`dataset_id`,`name`);--> statement-breakpoint
CREATE TABLE `annotations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`set_id` integer NOT NULL,
	`image_id` integer NOT NULL,
	`status` integer DEFAULT -1 NOT NULL,
	`object_count` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`set_id`) REFERENCES `annotation_sets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `annotations_set_id_image_id_idx` ON `annotations` (`set_id`,`image_id`);--> statement-breakpoint
CREATE INDEX `annotations_image_id_idx` ON `annotations` (`image_id`);--> statement-breakpoint
CREATE INDEX `annotations_set_id_status_idx` ON `annotations` (`set_id`,`status`);--> statement-breakpoint
CREATE TABLE `classes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `classes_name_idx` ON `classes` (`name`);--> statement-breakpoint
CREATE TABLE `image_tags` (
	`set_id` integer NOT NULL,
	`image_id` integer NOT NULL,
	`tag_id` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`set_id`, `image_id`, `tag_id`),
	FOREIGN KEY (`set_id`) REFERENCES `annotation_sets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tag_id`) REFERENCES `tags`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `image_tags_set_id_tag_id_image_id_idx` ON `image_tags` (`set_id`,`tag_id`,`image_id`);--> statement-breakpoint
CREATE INDEX `image_tags_image_id_idx` ON `image_tags` (`image_id`);--> statement-breakpoint
CREATE TABLE `tags` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tags_name_idx` ON `tags` (`name`);--> statement-breakpoint
CREATE TABLE `upload_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text NOT NULL,
	`scope` text NOT NULL,
	`level` text NOT NULL,
	`type` text,
	`filename` text,
	`value` text,
	`message` text NOT NULL,
	`dedupe_key` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `upload_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `upload_events_session_id_id_idx` ON `upload_events` (`session_id`,`id`);--> statement-breakpoint
CREATE INDEX `upload_events_dedupe_key_idx` ON `upload_events` (`session_id`,`dedupe_key`);--> statement-breakpoint
CREATE TABLE `upload_items` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text NOT NULL,
	`source` text NOT NULL,
	`name` text NOT NULL,
	`r2_key` text,
	`url` text,
	`size` integer DEFAULT 0 NOT NULL,
	`sha256` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `upload_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `upload_items_session_id_id_idx` ON `upload_items` (`session_id`,`id`);--> statement-breakpoint
CREATE TABLE `upload_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`dataset_id` integer NOT NULL,
	`status` text DEFAULT 'not complete' NOT NULL,
	`substatus` text DEFAULT '' NOT NULL,
	`annotation_task` text,
	`annotation_set_id` integer,
	`annotation_set_name` text,
	`folder_id` integer,
	`skip_new_classes` integer DEFAULT false NOT NULL,
	`class_encoding` text,
	`tasks_total` integer DEFAULT 0 NOT NULL,
	`tasks_done` integer DEFAULT 0 NOT NULL,
	`images_total` integer DEFAULT 0 NOT NULL,
	`images_successful` integer DEFAULT 0 NOT NULL,
	`images_failed` integer DEFAULT 0 NOT NULL,
	`annotations_total` integer DEFAULT 0 NOT NULL,
	`annotations_successful` integer DEFAULT 0 NOT NULL,
	`annotations_failed` integer DEFAULT 0 NOT NULL,
	`uploaded_images_items` integer DEFAULT 0 NOT NULL,
	`uploaded_images_size` integer DEFAULT 0 NOT NULL,
	`uploaded_annotations_items` integer DEFAULT 0 NOT NULL,
	`uploaded_annotations_size` integer DEFAULT 0 NOT NULL,
	`uploaded_archives_items` integer DEFAULT 0 NOT NULL,
	`uploaded_archives_size` integer DEFAULT 0 NOT NULL,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`finished_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `upload_sessions_user_id_status_idx` ON `upload_sessions` (`user_id`,`status`);--> statement-breakpoint
CREATE INDEX `upload_sessions_dataset_id_idx` ON `upload_sessions` (`dataset_id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`dataset_id` integer,
	`kind` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`progress_done` integer DEFAULT 0 NOT NULL,
	`progress_total` integer DEFAULT 0 NOT NULL,
	`error` text,
	`params` text DEFAULT '{}' NOT NULL,
	`dedupe_key` text,
	`result_key` text,
	`result_size` integer,
	`result_name` text,
	`result_type` text,
	`state` text,
	`expires_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `jobs_user_id_id_idx` ON `jobs` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_dedupe_key_status_idx` ON `jobs` (`dedupe_key`,`status`);--> statement-breakpoint
CREATE INDEX `jobs_expires_at_idx` ON `jobs` (`expires_at`);