import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { nowIso, timestamps } from "./common";
import { datasets } from "./datasets";
import { images } from "./images";

/** task: object_detection | instance_segmentation | image_classification (Remo's TaskType names). */
export const annotationSets = sqliteTable(
  "annotation_sets",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    task: text("task").notNull(),
    lastAnnotatedAt: text("last_annotated_at"),
    // Statistics counters, updated in the same batch() as every write, so reading them never scans objects.
    annotatedImages: integer("annotated_images").notNull().default(0),
    doneCount: integer("done_count").notNull().default(0),
    skippedCount: integer("skipped_count").notNull().default(0),
    totalObjects: integer("total_objects").notNull().default(0),
    ...timestamps,
  },
  (t) => [uniqueIndex("annotation_sets_dataset_id_name_idx").on(t.datasetId, t.name)],
);

/** Global class names (Remo's common classes), capitalised as Remo does. */
export const classes = sqliteTable(
  "classes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [uniqueIndex("classes_name_idx").on(t.name)],
);

/** The classes of a set, with per-set counters for statistics (objects, and images that use the class). */
export const annotationSetClasses = sqliteTable(
  "annotation_set_classes",
  {
    setId: integer("set_id")
      .notNull()
      .references(() => annotationSets.id, { onDelete: "cascade" }),
    classId: integer("class_id")
      .notNull()
      .references(() => classes.id, { onDelete: "cascade" }),
    position: integer("position").notNull().default(0),
    objectCount: integer("object_count").notNull().default(0),
    imageCount: integer("image_count").notNull().default(0),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [primaryKey({ columns: [t.setId, t.classId] }), index("annotation_set_classes_class_id_idx").on(t.classId)],
);

/** status: -1 not_annotated, 0 skipped, 1 done (Remo's AnnotationStatus). One row per (set, image) annotated. */
export const annotations = sqliteTable(
  "annotations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    setId: integer("set_id")
      .notNull()
      .references(() => annotationSets.id, { onDelete: "cascade" }),
    imageId: integer("image_id")
      .notNull()
      .references(() => images.id, { onDelete: "cascade" }),
    status: integer("status").notNull().default(-1),
    objectCount: integer("object_count").notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("annotations_set_id_image_id_idx").on(t.setId, t.imageId),
    index("annotations_image_id_idx").on(t.imageId),
    // The annotation tool's gallery pages a status group by image id: one index range, no sort (issue 12).
    index("annotations_set_id_status_image_id_idx").on(t.setId, t.status, t.imageId),
  ],
);

/**
 * kind: bbox (coordinates = [xmin, ymin, xmax, ymax]) | polygon (coordinates = [x1, y1, x2, y2, ...]), JSON text.
 * set_id and image_id are denormalised so exports page by (set, image id) without joining annotations.
 */
export const annotationObjects = sqliteTable(
  "annotation_objects",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    annotationId: integer("annotation_id")
      .notNull()
      .references(() => annotations.id, { onDelete: "cascade" }),
    setId: integer("set_id").notNull(),
    imageId: integer("image_id").notNull(),
    position: integer("position").notNull().default(0),
    name: text("name").notNull().default(""),
    kind: text("kind").notNull(),
    coordinates: text("coordinates").notNull(),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [
    index("annotation_objects_set_id_image_id_idx").on(t.setId, t.imageId),
    index("annotation_objects_annotation_id_idx").on(t.annotationId),
  ],
);

/**
 * Class links: an object's classes (object_id set) or an image's classification classes (object_id null).
 * (set_id, class_id, image_id) answers "images of this set with class X" from the index alone.
 */
export const annotationClasses = sqliteTable(
  "annotation_classes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    annotationId: integer("annotation_id")
      .notNull()
      .references(() => annotations.id, { onDelete: "cascade" }),
    objectId: integer("object_id").references(() => annotationObjects.id, { onDelete: "cascade" }),
    setId: integer("set_id").notNull(),
    imageId: integer("image_id").notNull(),
    classId: integer("class_id")
      .notNull()
      .references(() => classes.id, { onDelete: "cascade" }),
    score: real("score"),
  },
  (t) => [
    index("annotation_classes_set_id_class_id_image_id_idx").on(t.setId, t.classId, t.imageId),
    index("annotation_classes_set_id_image_id_idx").on(t.setId, t.imageId),
    index("annotation_classes_object_id_idx").on(t.objectId),
    index("annotation_classes_annotation_id_idx").on(t.annotationId),
  ],
);

/** Global tag names (lower-cased on the image route, as Remo does). */
export const tags = sqliteTable(
  "tags",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [uniqueIndex("tags_name_idx").on(t.name)],
);

export const imageTags = sqliteTable(
  "image_tags",
  {
    setId: integer("set_id")
      .notNull()
      .references(() => annotationSets.id, { onDelete: "cascade" }),
    imageId: integer("image_id")
      .notNull()
      .references(() => images.id, { onDelete: "cascade" }),
    tagId: integer("tag_id")
      .notNull()
      .references(() => tags.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [
    primaryKey({ columns: [t.setId, t.imageId, t.tagId] }),
    index("image_tags_set_id_tag_id_image_id_idx").on(t.setId, t.tagId, t.imageId),
    index("image_tags_image_id_idx").on(t.imageId),
  ],
);

/**
 * Images per (set, tag): one row per tag a set uses, kept by SQLite triggers on `image_tags` (migrations/0007), never
 * by the services, so every writer (tagging, imports, renames, cascaded deletes, the copy into a DatasetStore, the
 * prune of D1's copy) keeps it right. A row whose count reaches 0 is deleted. The single-tag search's count and a
 * set's tag list read it.
 */
export const setTagCounts = sqliteTable(
  "set_tag_counts",
  {
    setId: integer("set_id")
      .notNull()
      .references(() => annotationSets.id, { onDelete: "cascade" }),
    tagId: integer("tag_id").notNull(),
    imageCount: integer("image_count").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.setId, t.tagId] })],
);
