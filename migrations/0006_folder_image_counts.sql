CREATE TABLE `folder_image_counts` (
	`dataset_id` integer NOT NULL,
	`folder_id` integer NOT NULL,
	`image_count` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`dataset_id`, `folder_id`),
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Kept by triggers, not by the services, so every writer (uploads, moves, cascaded deletes of folders and datasets,
-- the copy into a DatasetStore, the prune of D1's copy) keeps it right. Folder 0 is the dataset's root.
CREATE TRIGGER `folder_image_counts_insert` AFTER INSERT ON `images` BEGIN
	INSERT INTO `folder_image_counts` (`dataset_id`, `folder_id`, `image_count`, `version`)
	VALUES (new.`dataset_id`, coalesce(new.`folder_id`, 0), 1, 1)
	ON CONFLICT (`dataset_id`, `folder_id`) DO UPDATE SET `image_count` = `image_count` + 1, `version` = `version` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `folder_image_counts_delete` AFTER DELETE ON `images` BEGIN
	UPDATE `folder_image_counts` SET `image_count` = `image_count` - 1, `version` = `version` + 1
	WHERE `dataset_id` = old.`dataset_id` AND `folder_id` = coalesce(old.`folder_id`, 0);
END;
--> statement-breakpoint
CREATE TRIGGER `folder_image_counts_move` AFTER UPDATE OF `folder_id`, `dataset_id` ON `images`
WHEN old.`folder_id` IS NOT new.`folder_id` OR old.`dataset_id` <> new.`dataset_id` BEGIN
	UPDATE `folder_image_counts` SET `image_count` = `image_count` - 1, `version` = `version` + 1
	WHERE `dataset_id` = old.`dataset_id` AND `folder_id` = coalesce(old.`folder_id`, 0);
	INSERT INTO `folder_image_counts` (`dataset_id`, `folder_id`, `image_count`, `version`)
	VALUES (new.`dataset_id`, coalesce(new.`folder_id`, 0), 1, 1)
	ON CONFLICT (`dataset_id`, `folder_id`) DO UPDATE SET `image_count` = `image_count` + 1, `version` = `version` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `folder_image_counts_folder_delete` AFTER DELETE ON `folders` BEGIN
	DELETE FROM `folder_image_counts` WHERE `dataset_id` = old.`dataset_id` AND `folder_id` = old.`id`;
END;
--> statement-breakpoint
-- Existing deployments: the counts of the images already there.
INSERT INTO `folder_image_counts` (`dataset_id`, `folder_id`, `image_count`, `version`)
SELECT `dataset_id`, coalesce(`folder_id`, 0), count(*), 1 FROM `images` GROUP BY `dataset_id`, coalesce(`folder_id`, 0);
