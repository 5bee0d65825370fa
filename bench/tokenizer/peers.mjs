#!/usr/bin/env node
// Peer tokenizer timing: Hugging Face `tokenizers` (npm, Rust core) or transformers.js
// tokenizing every line of INPUT with the tokenizer in DIR. Prints one JSON line with the
// median of PASSES passes. Single core: RAYON_NUM_THREADS=1 is set by run.py.
//   node peers.mjs hf-tokenizers|transformers.js DIR INPUT PASSES
// Module roots: HF_TOKENIZERS_DIR (a folder whose node_modules has `tokenizers`) and
// TJS_DIR (one whose node_modules has `@huggingface/transformers`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [engine, dir, input, passesArg] = process.argv.slice(2);
const passes = Number(passesArg || 5);
const text = readFileSync(input, 'utf8');
const lines = text.split('\n').filter((l) => l.length > 0);
const bytes = Buffer.byteLength(lines.join(''), 'utf8');

function load(root, name) {
  const req = createRequire(path.join(root, 'package.json'));
  return import(pathToFileURL(req.resolve(name)).href);
}

let encodeAll;
if (engine === 'hf-tokenizers') {
  const { Tokenizer } = await load(process.env.HF_TOKENIZERS_DIR, 'tokenizers');
  const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  encodeAll = async () => {
    let n = 0;
    for (let i = 0; i < lines.length; i += 1000) {
      const encs = await tok.encodeBatch(lines.slice(i, i + 1000));
      for (const e of encs) n += e.getIds().length;
    }
    return n;
  };
} else if (engine === 'transformers.js') {
  const { AutoTokenizer, env } = await load(process.env.TJS_DIR, '@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(path.resolve(dir)) + path.sep;
  const tok = await AutoTokenizer.from_pretrained(path.basename(path.resolve(dir)));
  encodeAll = async () => {
    let n = 0;
    for (const l of lines) n += tok.encode(l).length;
    return n;
  };
} else {
  throw new Error(`unknown engine ${engine}`);
}

const times = [];
const cpus = [];
let tokens = 0;
await encodeAll(); // warm-up
for (let p = 0; p < passes; p++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  tokens = await encodeAll();
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1e6);
}
times.sort((a, b) => a - b);
const s = times[Math.floor(times.length / 2)];
cpus.sort((a, b) => a - b);
const cs = cpus[Math.floor(cpus.length / 2)];
console.log(JSON.stringify({ engine, tokenizer: path.basename(dir), input: path.basename(input), lines: lines.length, bytes,
  tokens, passes: times, seconds: s, cpu_seconds: cs, mb_per_s: bytes / 1e6 / s, mb_per_cpu_s: bytes / 1e6 / cs,
  tokens_per_s: tokens / s }));
