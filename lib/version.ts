// What `salty version` reports. The build defines SALTY_COMMIT (scripts/build.ts);
// a source checkout run through bun reports "dev".

import pkg from "../package.json" with { type: "json" };

declare const SALTY_COMMIT: string | undefined;

export const version = {
  version: pkg.version,
  commit: typeof SALTY_COMMIT === "string" ? SALTY_COMMIT : "dev",
  platform: `${process.platform}-${process.arch}`,
};
