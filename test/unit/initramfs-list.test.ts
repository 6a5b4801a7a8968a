// The initramfs file list handed to gen_init_cpio.
import assert from "node:assert/strict";
import { test } from "node:test";
import { initramfsList } from "../../breeder/initramfs-list.js";

const list = initramfsList({
  busybox: "/c/busybox",
  applets: ["bin/sh", "bin/busybox", "usr/bin/env", "sbin/poweroff"],
  confine: "/c/confine",
  guestFiles: [
    { src: "/g/init", dest: "/init" },
    { src: "/g/enter.sh", dest: "/lib/ermine/enter.sh" },
  ],
}).split("\n");

test("init is /init, helpers (enter.sh, confine) go to /lib/ermine", () => {
  assert.ok(list.includes("file /init /g/init 755 0 0"));
  assert.ok(list.includes("file /lib/ermine/enter.sh /g/enter.sh 755 0 0"));
  assert.ok(list.includes("file /lib/ermine/confine /c/confine 755 0 0"));
});

test("applets are links to /bin/busybox, and busybox itself is the only real file", () => {
  assert.ok(list.includes("file /bin/busybox /c/busybox 755 0 0"));
  assert.ok(list.includes("slink /bin/sh /bin/busybox 777 0 0"));
  assert.ok(list.includes("slink /usr/bin/env /bin/busybox 777 0 0"));
  assert.ok(!list.some((l) => l.startsWith("slink /bin/busybox")));
});

test("/dev/console exists before devtmpfs, and /tmp is sticky", () => {
  assert.ok(list.includes("nod /dev/console 600 0 0 c 5 1"));
  assert.ok(list.includes("dir /tmp 1777 0 0"));
});

test("every directory comes before anything inside it", () => {
  const seen = new Set<string>(["/"]);
  for (const line of list.filter(Boolean)) {
    const path = line.split(" ")[1] ?? "";
    assert.ok(seen.has(path.slice(0, path.lastIndexOf("/")) || "/"), `${path} before its folder`);
    if (line.startsWith("dir ")) seen.add(path);
  }
});
