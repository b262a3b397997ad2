// Crepe's character quantisation in the browser: the same index frame as crepe.quantise.encode.
//   1. lower-case ASCII A-Z only (never toLowerCase: "İ" would become two characters);
//   2. keep the last `length` code points (a lone surrogate is one code point, as in Python);
//   3. write them last first: column 0 holds the text's final character;
//   4. index i + 1 for alphabet[i], 0 for any other code point and for the padding at the end.
// Checked against the shared test vectors (tests/vectors/quantise.json) in Chromium.
"use strict";

(function (root) {
  const A = 65, Z = 90, TO_LOWER = 32;

  // code point -> index (0: not in the alphabet), for one alphabet
  function lookup(alphabet) {
    const table = new Map();
    Array.from(alphabet).forEach((character, i) => table.set(character.codePointAt(0), i + 1));
    return table;
  }

  // Int32Array(length): the frame of one text.
  function encode(text, alphabet, length) {
    const table = lookup(alphabet);
    const points = Array.from(text, (character) => character.codePointAt(0));
    const kept = points.slice(Math.max(0, points.length - length));
    const frame = new Int32Array(length);
    for (let column = 0; column < kept.length; column++) {
      let point = kept[kept.length - 1 - column];
      if (point >= A && point <= Z) point += TO_LOWER;
      frame[column] = table.get(point) || 0;
    }
    return frame;
  }

  root.CrepeEncode = {encode};
})(typeof window !== "undefined" ? window : globalThis);
