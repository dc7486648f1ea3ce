export * from "./users";
export * from "./datasets";
export * from "./images";
export * from "./annotations";
export * from "./uploads";
export * from "./jobs";
export * from "./dataset-stores";
