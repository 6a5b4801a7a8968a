// Where images go: the package's images/ only when it is ours and writable, else the per-user data folder.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  defaultImagesDir,
  imageSearchDirs,
  ownedAndWritable,
  packageImagesDir,
  userImagesDir,
} from "../../src/host/paths.js";

const uid = process.getuid?.() ?? -1;

test("the per-user folder: $XDG_DATA_HOME/tsminc/images, else ~/.local/share/tsminc/images", () => {
  assert.equal(userImagesDir({ XDG_DATA_HOME: "/d" }), "/d/tsminc/images");
  assert.equal(userImagesDir({}), join(homedir(), ".local/share/tsminc/images"));
  assert.equal(userImagesDir({ XDG_DATA_HOME: "" }), join(homedir(), ".local/share/tsminc/images"));
});

test("a folder is ours when we own it and may write it; a missing one is judged by the folder it would be made in", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-images-dir-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(dir, "images"));
  assert.equal(ownedAndWritable(join(dir, "images"), uid), true);
  assert.equal(ownedAndWritable(join(dir, "missing"), uid), true);
  assert.equal(ownedAndWritable(join(dir, "images"), uid + 1), false);
  assert.equal(ownedAndWritable(join(dir, "no", "such"), uid), false);
});

test("breed's folder comes first in tsminc's search, then the other one", () => {
  const ours = ownedAndWritable(packageImagesDir, uid);
  assert.equal(defaultImagesDir, ours ? packageImagesDir : userImagesDir());
  assert.deepEqual(imageSearchDirs, ours ? [packageImagesDir, userImagesDir()] : [userImagesDir(), packageImagesDir]);
});
