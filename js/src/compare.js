// The compare view of RunDetails([run_a, run_b]) (anywidget ESM): drawn by labextension/src/runview/compare.ts,
// bundled with uPlot into jupyter_amlrun/notebook/static/compare_details.js by js/build.mjs.
export { default } from "../../labextension/src/runview/compare";
