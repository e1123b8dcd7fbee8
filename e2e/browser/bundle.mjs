// Bundles the pages' scripts (snowplow-page.mjs, segment-page.mjs) with the
// trackers pinned in package-lock.json into one self-contained file each,
// with esbuild, so that the test's page server serves the real trackers and
// the browser fetches nothing else.
//
// Usage: node bundle.mjs OUTDIR
import { build } from "esbuild";

const outdir = process.argv[2] || process.env.OUTDIR;
if (!outdir) {
  console.error("usage: node bundle.mjs OUTDIR");
  process.exit(2);
}
await build({
  entryPoints: ["snowplow-page.mjs", "segment-page.mjs"],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "chrome120",
  outdir,
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});
