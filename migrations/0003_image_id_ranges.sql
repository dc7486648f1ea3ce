CREATE TABLE `image_id_ranges` (
	`first_id` integer PRIMARY KEY NOT NULL,
	`last_id` integer NOT NULL,
	`dataset_id` integer NOT NULL,
	`kind` text NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `image_id_ranges_dataset_id_idx` ON `image_id_ranges` (`dataset_id`);