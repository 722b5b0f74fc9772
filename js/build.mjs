// Builds the RunDetails ESM (uPlot bundled, no CDN) and its CSS into the Python package. The drawing code is the
// run renderer shared with the JupyterLab extension (labextension/src/runview/, TypeScript; esbuild strips types).
import { build, context } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "../jupyter_amlrun/notebook/static");
mkdirSync(out, { recursive: true });

const options = {
  // run_details.js: the run view; compare_details.js: RunDetails([run_a, run_b]) (each bundles its own uPlot).
  entryPoints: { run_details: resolve(here, "src/index.js"), compare_details: resolve(here, "src/compare.js") },
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  outdir: out,
  legalComments: "inline",
  logLevel: "info",
  // uplot is this package's dependency; the shared sources sit in labextension/, where node_modules may be absent.
  nodePaths: [resolve(here, "node_modules")],
};

function css() {
  const uplot = readFileSync(resolve(here, "node_modules/uplot/dist/uPlot.min.css"), "utf8");
  const own = readFileSync(resolve(here, "../labextension/style/runview.css"), "utf8");
  writeFileSync(resolve(out, "run_details.css"), `/* uPlot (MIT) */\n${uplot}\n${own}`);
}

if (process.argv.includes("--watch")) {
  css();
  const ctx = await context(options);
  await ctx.watch();
} else {
  await build(options);
  css();
}
