// Runs in the vitest config (Node): a temporary local-files root shaped like a user's disk, served by the real
// local file service (scripts/local-files.mjs) on loopback, as `npm start` serves the home directory. Tests inside
// workerd cannot write files, so the tree is built here; it is removed when the test process exits.
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { zipSync } from "fflate";
import { readFileSync } from "node:fs";
import { startLocalFiles } from "../../scripts/local-files.mjs";

/**
 * <tmp>/root/dataset/images/{5 images}, .../images/more/{2 images}, .DS_Store   (a folder walked recursively)
 * <tmp>/root/dataset/annotations.csv                                          (the fixture's boxes)
 * <tmp>/root/archived/images.zip                                              (an archive on disk)
 * <tmp>/root/encoded/boxes.csv, labels.csv                                    (a CSV whose labels a file encodes)
 * <tmp>/root/escapes/inside-link.jpg → ../dataset/images/<first>               (a symlink that stays inside)
 * <tmp>/root/escapes/link-out.jpg → <tmp>/outside/secret.jpg, dir-out → <tmp>/outside
 * <tmp>/root/.secret/key.jpg, escapes/to-hidden.jpg → it                     (hidden: never read)
 * <tmp>/outside/secret.jpg                                                    (never to be read)
 * @param {string} fixtureDir test/fixtures/remo-object-detection
 */
export async function startTestLocalFiles(fixtureDir) {
  const tmp = mkdtempSync(path.join(tmpdir(), "remo-local-files-"));
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const root = path.join(tmp, "root");
  const outside = path.join(tmp, "outside");
  const images = readdirSync(path.join(fixtureDir, "images"))
    .filter((n) => n.endsWith(".jpg"))
    .sort();
  for (const d of ["dataset/images/more", "archived", "escapes"]) mkdirSync(path.join(root, d), { recursive: true });
  mkdirSync(outside);
  images.forEach((n, i) =>
    copyFileSync(path.join(fixtureDir, "images", n), path.join(root, "dataset/images", i < 5 ? "" : "more", n)),
  );
  writeFileSync(path.join(root, "dataset/images/.DS_Store"), "not an image");
  copyFileSync(path.join(fixtureDir, "annotations/annotations.csv"), path.join(root, "dataset/annotations.csv"));
  writeFileSync(
    path.join(root, "archived/images.zip"),
    zipSync(Object.fromEntries(images.map((n) => [n, readFileSync(path.join(fixtureDir, "images", n))])), { level: 0 }),
  );
  mkdirSync(path.join(root, "encoded"));
  writeFileSync(
    path.join(root, "encoded/boxes.csv"),
    `file_name,class_name,xmin,ymin,xmax,ymax\n${images[0]},lbl_1,1,2,30,40\n`,
  );
  writeFileSync(path.join(root, "encoded/labels.csv"), "lbl_1,Pear\n");
  copyFileSync(path.join(fixtureDir, "images", images[0]), path.join(outside, "secret.jpg"));
  symlinkSync(path.join(root, "dataset/images", images[0]), path.join(root, "escapes/inside-link.jpg"));
  symlinkSync(path.join(outside, "secret.jpg"), path.join(root, "escapes/link-out.jpg"));
  symlinkSync(outside, path.join(root, "escapes/dir-out"));
  // 105 symlinks out of the root in one folder: the service lists at most 100 errors and says there are more.
  mkdirSync(path.join(root, "many-bad"));
  for (let i = 0; i < 105; i++) symlinkSync(outside, path.join(root, `many-bad/out-${String(i).padStart(4, "0")}`));
  // Hidden: never served, named directly or through a link.
  mkdirSync(path.join(root, ".secret"));
  copyFileSync(path.join(fixtureDir, "images", images[0]), path.join(root, ".secret/key.jpg"));
  symlinkSync(path.join(root, ".secret/key.jpg"), path.join(root, "escapes/to-hidden.jpg"));

  const secret = randomBytes(32).toString("hex");
  const { server, origin } = await startLocalFiles({ root, secret });
  server.unref(); // the test process ends when the tests do
  // Not LOCAL_FILES_URL itself: every other test runs as deployed; the local-files tests switch it on.
  return {
    TEST_LOCAL_FILES_URL: origin,
    TEST_LOCAL_FILES_SECRET: secret,
    TEST_LOCAL_FILES_ROOT: root,
    TEST_LOCAL_FILES_OUTSIDE: outside,
  };
}
