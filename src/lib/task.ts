/** Remo's three tasks: API value (`name`) and stored type (`type`). */
export const TASKS = {
  object_detection: { id: 1, name: "Object detection" },
  instance_segmentation: { id: 2, name: "Instance segmentation" },
  image_classification: { id: 3, name: "Image classification" },
} as const;
export type TaskType = keyof typeof TASKS;

const BY_VALUE = new Map<string, TaskType>(
  (Object.keys(TASKS) as TaskType[]).map((t) => [TASKS[t].name.toLowerCase(), t]),
);

/**
 * Remo's parse_annotation_task: runs of whitespace, `_` and `-` become one space, then case is ignored, so
 * `object-detection`, `OBJECT_DETECTION` and `Object detection` are one task. Unknown or empty gives null.
 */
export function parseTask(input: unknown): TaskType | null {
  if (typeof input === "number") {
    const hit = (Object.keys(TASKS) as TaskType[]).find((t) => TASKS[t].id === input);
    return hit ?? null;
  }
  if (typeof input !== "string") return null;
  const s = input.replace(/[\s_-]+/g, " ").trim().toLowerCase();
  return BY_VALUE.get(s) ?? null;
}

export function taskName(t: TaskType): string {
  return TASKS[t].name;
}

export function taskObject(t: TaskType) {
  return { id: TASKS[t].id, name: TASKS[t].name, type: t };
}

export const TASK_NAMES = (Object.keys(TASKS) as TaskType[]).map((t) => TASKS[t].name);
