CREATE TABLE `set_tag_counts` (
	`set_id` integer NOT NULL,
	`tag_id` integer NOT NULL,
	`image_count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`set_id`, `tag_id`),
	FOREIGN KEY (`set_id`) REFERENCES `annotation_sets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Kept by triggers, not by the services (see src/db/schema/annotations.ts): inserts, deletes (cascaded ones too) and
-- an update that moves a row to another set or tag.
CREATE TRIGGER `set_tag_counts_insert` AFTER INSERT ON `image_tags` BEGIN
	INSERT INTO `set_tag_counts` (`set_id`, `tag_id`, `image_count`) VALUES (new.`set_id`, new.`tag_id`, 1)
	ON CONFLICT (`set_id`, `tag_id`) DO UPDATE SET `image_count` = `image_count` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `set_tag_counts_delete` AFTER DELETE ON `image_tags` BEGIN
	UPDATE `set_tag_counts` SET `image_count` = `image_count` - 1 WHERE `set_id` = old.`set_id` AND `tag_id` = old.`tag_id`;
	DELETE FROM `set_tag_counts` WHERE `set_id` = old.`set_id` AND `tag_id` = old.`tag_id` AND `image_count` <= 0;
END;
--> statement-breakpoint
CREATE TRIGGER `set_tag_counts_update` AFTER UPDATE OF `set_id`, `tag_id` ON `image_tags`
WHEN old.`set_id` <> new.`set_id` OR old.`tag_id` <> new.`tag_id` BEGIN
	UPDATE `set_tag_counts` SET `image_count` = `image_count` - 1 WHERE `set_id` = old.`set_id` AND `tag_id` = old.`tag_id`;
	DELETE FROM `set_tag_counts` WHERE `set_id` = old.`set_id` AND `tag_id` = old.`tag_id` AND `image_count` <= 0;
	INSERT INTO `set_tag_counts` (`set_id`, `tag_id`, `image_count`) VALUES (new.`set_id`, new.`tag_id`, 1)
	ON CONFLICT (`set_id`, `tag_id`) DO UPDATE SET `image_count` = `image_count` + 1;
END;
--> statement-breakpoint
-- Existing deployments: the counts of the tags already there.
INSERT INTO `set_tag_counts` (`set_id`, `tag_id`, `image_count`)
SELECT `set_id`, `tag_id`, count(*) FROM `image_tags` GROUP BY `set_id`, `tag_id`;
