// OSC 1.0 messages as the page needs them: ints, floats, strings, T/F and nil, big-endian,
// padded to 4 bytes. The page speaks OSC over the OSCQuery WebSocket, as any controller may.
"use strict";

const OSC = (() => {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const padded = (n) => (n + 4) & ~3; // a string's bytes, its NUL, then up to 4

  function stringBytes(text) {
    const raw = encoder.encode(text);
    const out = new Uint8Array(padded(raw.length));
    out.set(raw);
    return out;
  }

  function tagOf(value, type) {
    if (value === null) return "N";
    if (typeof value === "boolean") return value ? "T" : "F";
    if (typeof value === "string") return "s";
    return type === "i" ? "i" : "f";
  }

  function encode(address, values = [], types = "") {
    const tags = values.map((v, i) => tagOf(v, types[i]));
    const parts = [stringBytes(address), stringBytes("," + tags.join(""))];
    values.forEach((value, i) => {
      if (tags[i] === "i" || tags[i] === "f") {
        const word = new DataView(new ArrayBuffer(4));
        tags[i] === "i" ? word.setInt32(0, value) : word.setFloat32(0, value);
        parts.push(new Uint8Array(word.buffer));
      } else if (tags[i] === "s") {
        parts.push(stringBytes(value));
      }
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out.buffer;
  }

  function readString(bytes, at) {
    let end = at;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return [decoder.decode(bytes.subarray(at, end)), padded(end - at) + at];
  }

  // One message (bundles are not sent to the page): [address, [values...]].
  function decode(buffer) {
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    let [address, at] = readString(bytes, 0);
    let tags;
    [tags, at] = readString(bytes, at);
    const values = [];
    for (const tag of tags.slice(1)) {
      if (tag === "i") { values.push(view.getInt32(at)); at += 4; }
      else if (tag === "f") { values.push(view.getFloat32(at)); at += 4; }
      else if (tag === "d") { values.push(view.getFloat64(at)); at += 8; }
      else if (tag === "s") { let s; [s, at] = readString(bytes, at); values.push(s); }
      else if (tag === "T") values.push(true);
      else if (tag === "F") values.push(false);
      else if (tag === "N") values.push(null);
    }
    return [address, values];
  }

  return { encode, decode };
})();
