// The live-demo page: reads config.json from its own origin, sends the text to the model server
// through its own origin (POST {"text", "explain": true} to config.predictions, a path that the page's
// server forwards) after a pause in typing or on Enter/Tab, and shows the answer:
// the predicted class, one bar per class, the characters coloured by saliency.
// When config.json names an ONNX model ("onnx", with its "description" and the onnxruntime-web folder "ort"),
// the page also computes the answer itself with onnxruntime-web (WASM) and shows it beside the server's,
// each with where it was computed and how long it took. The static demo (python -m crepe export --format web)
// has no server: there the browser's answer is the only one, and the browser also finds which characters
// mattered, by occlusion (occlusion.js).
"use strict";

(() => {
  // Used when config.json lists no examples (a model directory without test rows).
  const BUILT_IN_EXAMPLES = [
    "Striker scores twice as United beat City in the cup final",
    "Oil prices climb as investors weigh weaker dollar and supply fears",
    "NASA probe sends back first close-up images of Jupiter's moon",
    "Peace talks resume as envoys arrive in the capital after ceasefire",
    "Chip maker unveils faster processor for laptops and phones",
    "Shares of the airline fall after it cuts its profit forecast",
    "Tennis champion withdraws from the Open with a knee injury",
    "Scientists sequence the genome of a rare deep-sea fish",
  ];
  const DEFAULT_DEBOUNCE_MS = 300;
  const TIMEOUT_MS = 20000;
  const TOWARDS = [239, 138, 98];  // red: the character pushed towards the predicted class
  const AWAY = [103, 169, 207];    // blue: away from it
  const WHITE = [255, 255, 255];

  const $ = (id) => document.getElementById(id);
  const state = {config: null, url: null, lastSent: null, sequence: 0, shown: 0, timer: null,
    session: null, description: null, queue: Promise.resolve()};

  function setStatus(message, kind) {
    const status = $("status");
    status.textContent = message;
    status.dataset.state = kind;
  }

  // The predictions path, on the origin this page came from (any host name or port).
  function predictionsUrl(raw) {
    const url = new URL(raw, window.location.href);
    return window.location.origin + url.pathname;
  }

  function examples() {
    const listed = (state.config && state.config.examples) || [];
    return listed.length ? listed : BUILT_IN_EXAMPLES;
  }

  function classes(probabilities) {
    const listed = (state.config && state.config.classes) || [];
    return listed.length ? listed : Object.keys(probabilities);
  }

  function buildBars(names, bars = $("bars")) {
    bars.replaceChildren(...names.map((name, index) => {
      const item = document.createElement("li");
      item.className = "bar";
      item.id = `bar-${index}`;
      item.dataset.class = name;
      item.innerHTML = '<span class="bar-label"></span><span class="bar-track" aria-hidden="true">' +
        '<span class="bar-fill"></span></span><span class="bar-value">&ndash;</span>';
      item.querySelector(".bar-label").textContent = name;
      return item;
    }));
  }

  function showBars(probabilities, predicted, bars = $("bars")) {
    const names = classes(probabilities);
    const current = Array.from(bars.children, (item) => item.dataset.class);
    if (current.join("\n") !== names.join("\n")) buildBars(names, bars);
    for (const item of bars.children) {
      const p = Number(probabilities[item.dataset.class]) || 0;
      item.dataset.probability = String(p);
      item.classList.toggle("is-predicted", item.dataset.class === predicted);
      item.querySelector(".bar-fill").style.width = `${(100 * p).toFixed(2)}%`;
      item.querySelector(".bar-value").textContent = `${(100 * p).toFixed(1)}\u00a0%`;
    }
  }

  function mix(colour, t) {
    return `rgb(${colour.map((c, i) => Math.round(WHITE[i] + (c - WHITE[i]) * t)).join(", ")})`;
  }

  // Where the scored characters sit in the text: the model keeps the end of a long text.
  function scoredOffset(characters, pairs) {
    const seen = pairs.map((pair) => pair[0]).join("");
    const text = characters.join("");
    if (text.endsWith(seen)) return characters.length - pairs.length;
    if (text.startsWith(seen)) return 0;
    return -1;
  }

  function characterSpan(character, score, largest) {
    const span = document.createElement("span");
    span.textContent = character;
    if (score !== null) {
      const t = largest > 0 ? Math.min(1, Math.abs(score) / largest) : 0;
      span.className = "scored";
      span.dataset.score = String(score);
      span.title = `${score.toPrecision(3)}`;
      span.style.backgroundColor = mix(score >= 0 ? TOWARDS : AWAY, t);
    }
    return span;
  }

  function showSaliency(text, pairs) {
    const box = $("saliency");
    const note = $("saliency-note");
    let characters = Array.from(text);
    if (!Array.isArray(pairs)) {
      box.replaceChildren(document.createTextNode(text));
      note.textContent = "Saliency is shown for the character model (Crepe) only; this model reads words.";
      return;
    }
    let offset = scoredOffset(characters, pairs);
    if (offset < 0) {  // the server changed the text: show what the model saw
      characters = pairs.map((pair) => pair[0]);
      offset = 0;
    }
    const largest = Math.max(0, ...pairs.map((pair) => Math.abs(Number(pair[1]) || 0)));
    box.replaceChildren(...characters.map((character, i) => {
      const pair = pairs[i - offset];
      return characterSpan(character, i >= offset && pair ? Number(pair[1]) || 0 : null, largest);
    }));
    note.textContent = offset > 0 ? `The model reads the last ${pairs.length} characters; ` +
      "the uncoloured ones before them were cut off." : "";
  }

  function clearResult() {
    $("predicted").textContent = "\u2014";
    $("saliency").replaceChildren();
    $("saliency-note").textContent = "";
    showBars({}, null);
    for (const value of document.querySelectorAll("#bars .bar-value")) value.textContent = "\u2013";
  }

  function showAnswer(text, answer) {
    if (!answer || typeof answer.predicted !== "string" || typeof answer.probabilities !== "object") {
      throw new Error("The model server's answer has no predicted class and probabilities.");
    }
    $("predicted").textContent = answer.predicted;
    showBars(answer.probabilities, answer.predicted);
    showSaliency(text, answer.saliency);
  }

  async function errorSentence(response) {
    try {
      const body = await response.json();
      if (body && (body.error || body.message)) return String(body.error || body.message);
    } catch (ignored) { /* not JSON */ }
    return `The model server answered ${response.status} ${response.statusText}.`.replace(" .", ".");
  }

  function failureSentence(error) {
    if (error.name === "AbortError") {
      return `The model server at ${state.url} did not answer within ${TIMEOUT_MS / 1000} s.`;
    }
    return `The page's server at ${window.location.origin} is not answering; start it with ` +
      "python -m crepe serve --model DIR";
  }

  // {answer} or {message}: one POST to the model server, bounded in time.
  async function request(text) {
    const abort = new AbortController();
    const timer = window.setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      let response;
      try {
        response = await fetch(state.url, {method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify({text, explain: true}), signal: abort.signal});
      } catch (error) {
        return {message: failureSentence(error)};
      }
      if (!response.ok) return {message: await errorSentence(response)};
      try {
        return {answer: await response.json()};
      } catch (error) {
        return {message: error.name === "AbortError" ? failureSentence(error) :
          "The model server's answer is not JSON."};
      }
    } finally {
      window.clearTimeout(timer);
    }
  }

  // ---------------------------------------------------------------- the model in the browser (onnxruntime-web)

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(script);
    });
  }

  // The ONNX model and its description, with onnxruntime-web's WASM backend on one thread (a static host
  // sends no cross-origin isolation headers, so no shared memory for threads).
  async function loadBrowserModel() {
    const folder = new URL(state.config.ort || "ort/", window.location.href).href;
    await loadScript(`${folder}ort.wasm.min.js`);
    window.ort.env.wasm.wasmPaths = folder;
    window.ort.env.wasm.numThreads = 1;
    window.ort.env.wasm.proxy = false;
    const response = await fetch(state.config.description, {cache: "no-store"});
    if (!response.ok) throw new Error(`${state.config.description}: ${response.status}`);
    state.description = await response.json();
    state.session = await window.ort.InferenceSession.create(state.config.onnx, {executionProviders: ["wasm"]});
  }

  // One session run at a time: the answer to a new text waits for the occlusion batch under way.
  function run(feeds) {
    const result = state.queue.then(() => state.session.run(feeds));
    state.queue = result.catch(() => undefined);
    return result;
  }

  // {predicted, probabilities, ms}: the text encoded by encode.js and run by onnxruntime-web.
  async function inBrowser(text) {
    const d = state.description;
    const started = performance.now();
    const frame = window.CrepeEncode.encode(text, d.alphabet, d.frame_length);
    const input = new window.ort.Tensor(d.input.dtype, frame, [1, d.frame_length]);
    const output = await run({[d.input.name]: input});
    const values = Array.from(output[d.output].data);
    const ms = performance.now() - started;
    const probabilities = {};
    d.classes.forEach((name, i) => { probabilities[name] = values[i]; });
    const predicted = d.classes[values.indexOf(Math.max(...values))];
    return {predicted, probabilities, ms};
  }

  async function predictInBrowser(text, id) {
    if (!state.session) return;
    let result;
    try {
      result = await inBrowser(text);
    } catch (error) {
      $("browser-where").textContent = `The model in this browser failed: ${error.message}`;
      return;
    }
    if (id !== state.sequence) return;  // a newer text is on its way
    $("browser-predicted").textContent = result.predicted;
    showBars(result.probabilities, result.predicted, $("browser-bars"));
    $("browser-where").dataset.ms = String(result.ms);
    $("browser-where").textContent = `Computed in this browser (onnxruntime-web, WASM) in ` +
      `${result.ms.toFixed(1)} ms.`;
    if (!state.url) {
      setStatus(`Answered in this browser in ${Math.round(result.ms)} ms.`, "ok");
      explainInBrowser(text, id, result);
    }
  }

  // [[character, score], ...]: which characters mattered for `answer`, by occlusion in this browser.
  function occlusion(text, answer, options) {
    return window.CrepeOcclusion.scores(run, state.description, text, answer, options);
  }

  // The static demo's saliency panel: occlusion, with its progress, dropped when a newer text arrives.
  async function explainInBrowser(text, id, answer) {
    const note = $("saliency-note");
    const started = performance.now();
    $("saliency").replaceChildren(document.createTextNode(text));  // uncoloured until this text is scored
    let pairs;
    try {
      pairs = await occlusion(text, answer, {cancelled: () => id !== state.sequence, onProgress: (done, total) => {
        if (id === state.sequence) note.textContent = `Scoring the text without each character: ${done} of ${total}\u2026`;
      }});
    } catch (error) {
      if (id === state.sequence) note.textContent = `This browser could not score the characters: ${error.message}`;
      return;
    }
    if (pairs === null || id !== state.sequence) return;
    showSaliency(text, pairs);
    const ms = performance.now() - started;
    $("saliency").dataset.ms = String(ms);
    note.textContent = [note.textContent, `${pairs.length} texts, each without one character, scored in this ` +
      `browser in ${ms.toFixed(0)} ms.`].join(" ").trim();
  }

  // ---------------------------------------------------------------- predicting

  async function predict() {
    window.clearTimeout(state.timer);
    if (!state.config) return;
    const text = $("text").value;
    if (text === state.lastSent) return;
    state.lastSent = text;
    const id = ++state.sequence;
    if (!text.trim()) {
      state.shown = id;
      clearResult();
      setStatus("Type a headline, or draw a random example.", "idle");
      return;
    }
    predictInBrowser(text, id);
    if (!state.url) return;  // the static demo: no server
    setStatus("Predicting\u2026", "busy");
    const started = performance.now();
    let {answer, message} = await request(text);
    if (id < state.shown) return;  // a newer answer is already on the page
    state.shown = id;
    try {
      if (message === undefined) showAnswer(text, answer);
    } catch (error) {
      message = error.message;
    }
    if (message !== undefined) {
      clearResult();  // an earlier text's answer beside this text would mislead
      if (id === state.sequence) state.lastSent = null;  // Enter may send it again once fixed
      setStatus(message, "error");
    } else if (id === state.sequence) {
      const ms = performance.now() - started;
      $("server-where").textContent = `Computed on the server (MXNet) in ${ms.toFixed(0)} ms, the round trip included.`;
      setStatus(`Answered in ${Math.round(ms)} ms.`, "ok");
    }
  }

  function schedule() {
    window.clearTimeout(state.timer);
    const pause = Number($("text").dataset.debounceMs) || DEFAULT_DEBOUNCE_MS;
    state.timer = window.setTimeout(() => predict(), pause);
  }

  function onKey(event) {
    if (event.isComposing) return;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();  // Enter sends; Shift+Enter is a new line
      predict();
    } else if (event.key === "Tab") {
      predict();  // focus moves on as usual
    }
  }

  function randomExample() {
    const pool = examples().filter((text) => text !== $("text").value);
    const choice = pool.length ? pool[Math.floor(Math.random() * pool.length)] : examples()[0];
    $("text").value = choice;
    predict();
  }

  async function start() {
    const box = $("text");
    box.addEventListener("input", schedule);
    box.addEventListener("keydown", onKey);
    $("random").addEventListener("click", randomExample);
    try {
      const response = await fetch("config.json", {cache: "no-store"});
      if (!response.ok) throw new Error(`${response.status}`);
      state.config = await response.json();
      state.url = state.config.predictions ? predictionsUrl(state.config.predictions) : null;
    } catch (error) {
      setStatus("This page cannot read its config.json: open it from the address that " +
        "python -m crepe serve prints.", "error");
      return;
    }
    if (Array.isArray(state.config.classes)) buildBars(state.config.classes);
    if (!state.url) {  // the static demo: the browser is the only runtime
      $("server-panel").hidden = true;
      $("runtime").textContent = "run in this browser";
      $("saliency-method").textContent = "occlusion: the text scored again without each character, in this browser";
    }
    $("model-line").textContent = state.url ? `Model "${state.config.model || "?"}" at ${state.url}` :
      `Model "${state.config.model || "?"}" (${state.config.onnx}), run in this browser; no server.`;
    if (state.config.onnx) {
      $("browser-panel").hidden = false;
      if (Array.isArray(state.config.classes)) buildBars(state.config.classes, $("browser-bars"));
      setStatus("Loading the model into this browser\u2026", "loading");
      try {
        await loadBrowserModel();
      } catch (error) {
        setStatus(`This browser cannot run the model: ${error.message}`, "error");
        if (!state.url) {
          $("saliency-panel").hidden = true;
          return;
        }
      }
    }
    window.crepeDemo = {inBrowser, occlusion: async (text) => occlusion(text, await inBrowser(text)),
      ready: Boolean(state.session)};
    if (!box.value) {
      setStatus("Type a headline, or draw a random example.", "idle");
    } else if (box.value === state.lastSent) {
      predictInBrowser(box.value, state.sequence);  // sent to the server while the model was loading
    } else {
      predict();
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
