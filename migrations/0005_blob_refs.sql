CREATE TABLE `blob_refs` (
	`r2_key` text NOT NULL,
	`dataset_id` integer NOT NULL,
	PRIMARY KEY(`r2_key`, `dataset_id`),
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `blob_refs_dataset_id_idx` ON `blob_refs` (`dataset_id`);