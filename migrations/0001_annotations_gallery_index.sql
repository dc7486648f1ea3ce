DROP INDEX `annotations_set_id_status_idx`;--> statement-breakpoint
CREATE INDEX `annotations_set_id_status_image_id_idx` ON `annotations` (`set_id`,`status`,`image_id`);