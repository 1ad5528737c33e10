// The page: starts the training worker and shows what it posts. One <li> per epoch, then the final metrics in #status.
const log = document.getElementById("log");
const status = document.getElementById("status");

// A module worker (the bundle of worker.js beside this file's bundle).
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
worker.onmessage = ({ data: msg }) => {
  if (msg.type === "epoch") {
    const li = document.createElement("li");
    li.dataset.epoch = String(msg.epoch);
    li.textContent = `epoch ${msg.epoch}: objective ${msg.objective.toFixed(4)}, validation AUC ${msg.auc.toFixed(3)}, RMSE ${msg.rmse.toFixed(3)}`;
    log.append(li);
  } else if (msg.type === "done") {
    status.dataset.done = "1";
    status.textContent = `done in ${msg.seconds.toFixed(1)} s: ${JSON.stringify(msg.metrics)}`;
  } else if (msg.type === "error") {
    status.dataset.error = "1";
    status.textContent = `training failed: ${msg.message}`;
  }
};
worker.postMessage({ rows: 4000, epochs: 12 }); // start training
