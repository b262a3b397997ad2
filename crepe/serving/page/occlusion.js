// Which characters mattered, by occlusion, computed in the browser: the text is scored again without
// each character in turn. A character's score is how much the predicted class's probability falls
// without it, so a positive score pushed towards the prediction, as in the server's gradient saliency.
// Only the characters the model reads are scored (the last frame_length), BATCH texts per run.
"use strict";

(function (root) {
  const BATCH = 32;

  // The text without its character at `index` (code points, as encode.js counts them).
  function without(characters, index) {
    return characters.slice(0, index).concat(characters.slice(index + 1)).join("");
  }

  // [[character, score], ...] in reading order, or null when cancelled() turned true between batches.
  //   run(feeds) -> Promise of the outputs: one onnxruntime-web session run;
  //   description: the model's description (alphabet, frame_length, classes, input, output);
  //   answer: {predicted, probabilities} for the whole text.
  async function scores(run, description, text, answer, {onProgress = null, cancelled = () => false} = {}) {
    const {alphabet, frame_length: length, classes, input, output} = description;
    const characters = Array.from(text);
    const first = Math.max(0, characters.length - length);
    const target = classes.indexOf(answer.predicted);
    const base = answer.probabilities[answer.predicted];
    const pairs = [];
    for (let start = first; start < characters.length; start += BATCH) {
      if (cancelled()) return null;
      const stop = Math.min(start + BATCH, characters.length);
      const frames = new Int32Array((stop - start) * length);                       // (batch, frame_length)
      for (let i = start; i < stop; i++) {
        frames.set(root.CrepeEncode.encode(without(characters, i), alphabet, length), (i - start) * length);
      }
      const outputs = await run({[input.name]: new root.ort.Tensor(input.dtype, frames, [stop - start, length])});
      const values = outputs[output].data;                                           // (batch, classes)
      for (let i = start; i < stop; i++) {
        pairs.push([characters[i], base - values[(i - start) * classes.length + target]]);
      }
      if (onProgress) onProgress(stop - first, characters.length - first);
    }
    return pairs;
  }

  root.CrepeOcclusion = {scores, without};
})(typeof window !== "undefined" ? window : globalThis);
