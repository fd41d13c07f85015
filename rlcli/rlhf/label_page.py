"""The labelling page: two looping clips side by side, four answers, keyboard shortcuts."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rlcli label</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; background: #fafafa; color: #222; }
  h1 { font-size: 1.2rem; margin: 0 0 .5rem; }
  #progress { color: #555; margin-bottom: 1rem; }
  #clips { display: flex; gap: 1rem; }
  figure { margin: 0; flex: 1; text-align: center; }
  video { width: 100%; max-width: 480px; background: #000; border-radius: 4px; }
  #answers { margin-top: 1rem; display: flex; gap: .5rem; flex-wrap: wrap; }
  button { font-size: 1rem; padding: .5rem 1rem; cursor: pointer; }
  kbd { border: 1px solid #aaa; border-radius: 3px; padding: 0 .3rem; font-size: .85rem; }
  #message { margin-top: 1rem; color: #a00; min-height: 1.2rem; }
</style>
</head>
<body>
<h1>Which clip shows the better behaviour?</h1>
<div id="progress">loading...</div>
<div id="pair" data-pair="">
  <div id="clips">
    <figure><video id="left" autoplay muted loop playsinline></video>
      <figcaption>left <span id="left-name"></span></figcaption></figure>
    <figure><video id="right" autoplay muted loop playsinline></video>
      <figcaption>right <span id="right-name"></span></figcaption></figure>
  </div>
  <div id="answers">
    <button id="answer-left" data-answer="left">Left is better <kbd>&larr;</kbd></button>
    <button id="answer-right" data-answer="right">Right is better <kbd>&rarr;</kbd></button>
    <button id="answer-equal" data-answer="equal">Equally good <kbd>e</kbd></button>
    <button id="answer-skip" data-answer="skip">Can't tell / skip <kbd>s</kbd></button>
  </div>
</div>
<div id="message"></div>
<script>
const KEYS = {ArrowLeft: "left", ArrowRight: "right", e: "equal", s: "skip"};
let tab = sessionStorage.getItem("rlcli-tab");
if (!tab) {
  tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  sessionStorage.setItem("rlcli-tab", tab);
}
let current = null;
let busy = false;

function showProgress(p) {
  const accuracy = p.reward_model_accuracy === null ? "not known yet"
    : p.reward_model_accuracy.toFixed(2);
  document.getElementById("progress").textContent =
    `labelled ${p.labelled} \\u00b7 ${p.queued} in the queue \\u00b7 ` +
    `reward model held-out accuracy: ${accuracy}`;
}

async function next() {
  const response = await fetch("api/next?tab=" + encodeURIComponent(tab));
  const body = await response.json();
  showProgress(body.progress);
  const holder = document.getElementById("pair");
  if (!body.pair) {
    current = null;
    holder.dataset.pair = "";
    document.getElementById("message").textContent =
      "Nothing to label right now; waiting for pairs.";
    setTimeout(next, 2000);
    return;
  }
  document.getElementById("message").textContent = "";
  current = body;
  for (const side of ["left", "right"]) {
    const video = document.getElementById(side);
    video.src = body[side + "_clip"];
    document.getElementById(side + "-name").textContent = body[side];
    video.play().catch(() => {});
  }
  holder.dataset.pair = body.pair;
}

async function answer(preference) {
  if (!current || busy) return;
  busy = true;
  try {
    const response = await fetch("api/answer", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({pair: current.pair, lease: current.lease, preference: preference}),
    });
    const body = await response.json();
    if (!response.ok) document.getElementById("message").textContent = body.error;
    await next();
  } finally {
    busy = false;
  }
}

for (const button of document.querySelectorAll("#answers button")) {
  button.addEventListener("click", () => answer(button.dataset.answer));
}
document.addEventListener("keydown", (event) => {
  if (event.key in KEYS) { event.preventDefault(); answer(KEYS[event.key]); }
});
next();
</script>
</body>
</html>
"""
