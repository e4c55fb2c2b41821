// Runs cairn's registration flows off the UI thread. It loads the same wasm module as the page
// (so nothing is reimplemented in JavaScript) and answers one request at a time.
import init, { run_flow } from "./cairn-dashboard.js";

const ready = init();
ready.then(() => self.postMessage({ type: "ready" }));

self.onmessage = async (event) => {
  await ready;
  const { id, request } = event.data;
  const progress = (done, total) => self.postMessage({ type: "progress", id, done, total });
  const response = JSON.parse(run_flow(JSON.stringify(request), progress));
  self.postMessage({ type: "result", id, response });
};
