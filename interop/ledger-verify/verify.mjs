#!/usr/bin/env node
// Independent verifier for RFC 9162 Merkle trees and C2SP signed-note / tlog-checkpoint,
// written from the specifications only. Node.js 20 built-ins, no dependencies.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const USAGE = `usage:
  node verify.mjs vectors DIR
  node verify.mjs export DIR [--key VKEY] [--previous CHECKPOINT_FILE]
  node verify.mjs inclusion PROOF_JSON CHECKPOINT_FILE --key VKEY [--leaf LEAF_FILE]
  node verify.mjs consistency PROOF_JSON OLD_CHECKPOINT NEW_CHECKPOINT --key VKEY
  node verify.mjs evidence EVIDENCE_JSON --key VKEY
  node verify.mjs --help
exit status: 0 verified, 1 verification failed, 2 usage error`;

export class VerifyError extends Error {}
class UsageError extends Error {}
const fail = (msg) => { throw new VerifyError(msg); };

// ---------- RFC 9162 §2.1 hashing ----------
export function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
const LEAF = Buffer.from([0x00]), NODE = Buffer.from([0x01]);
export const EMPTY_ROOT = sha256();
export const leafHash = (bytes) => sha256(LEAF, bytes);
export const nodeHash = (left, right) => sha256(NODE, left, right);

const big = (x) => {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return BigInt(x);
  if (typeof x === 'string' && /^(0|[1-9][0-9]*)$/.test(x)) return BigInt(x);
  fail(`not a non-negative integer: ${x}`);
};
const need32 = (h, what) => { if (!Buffer.isBuffer(h) || h.length !== 32) fail(`${what} is not a 32-byte hash`); };

// RFC 9162 §2.1.3.2
export function verifyInclusion(index, size, leaf, proof, root) {
  let fn = big(index), sn = big(size) - 1n;
  if (fn >= big(size)) fail(`leaf index ${index} is not below tree size ${size}`);
  need32(leaf, 'leaf hash');
  proof.forEach((p, i) => need32(p, `proof[${i}]`));
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) fail('inclusion proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) fail('inclusion proof is too short');
  if (!r.equals(root)) fail('inclusion proof does not lead to the root hash');
}

// RFC 9162 §2.1.4.2 (plus the trivial cases first == second and first == 0)
export function verifyConsistency(size1, size2, proof, root1, root2) {
  const m = big(size1), n = big(size2);
  if (m > n) fail(`old size ${m} is larger than new size ${n}`);
  if (m === n) {
    if (proof.length !== 0) fail('consistency proof between equal sizes must be empty');
    if (!root1.equals(root2)) fail('equal tree sizes but different root hashes');
    if (m === 0n && !root1.equals(EMPTY_ROOT)) fail('root of the empty tree is not SHA-256("")');
    return;
  }
  if (m === 0n) fail('consistency proof from the empty tree is not defined');
  if (proof.length === 0) fail('consistency proof is empty');
  proof.forEach((p, i) => need32(p, `proof[${i}]`));
  const pathHashes = (m & (m - 1n)) === 0n ? [root1, ...proof] : [...proof];
  let fn = m - 1n, sn = n - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = pathHashes[0], sr = pathHashes[0];
  for (const c of pathHashes.slice(1)) {
    if (sn === 0n) fail('consistency proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) fail('consistency proof is too short');
  if (!fr.equals(root1)) fail('consistency proof does not lead to the old root hash');
  if (!sr.equals(root2)) fail('consistency proof does not lead to the new root hash');
}

// Streaming Merkle tree hash, O(log n) memory: a stack of perfect subtrees.
export class TreeBuilder {
  stack = []; // [{ hash, size }] with strictly decreasing power-of-two sizes
  size = 0;
  add(leafHashValue) {
    let node = { hash: leafHashValue, size: 1 };
    while (this.stack.length && this.stack.at(-1).size === node.size) {
      const left = this.stack.pop();
      node = { hash: nodeHash(left.hash, node.hash), size: left.size * 2 };
    }
    this.stack.push(node);
    this.size++;
  }
  root() {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let h = this.stack.at(-1).hash;
    for (let i = this.stack.length - 2; i >= 0; i--) h = nodeHash(this.stack[i].hash, h);
    return h;
  }
}

// ---------- C2SP signed-note ----------
const b64 = (s, what) => {
  const buf = Buffer.from(s, 'base64');
  if (typeof s !== 'string' || s.length === 0 || buf.toString('base64') !== s) fail(`${what} is not valid base64`);
  return buf;
};
const validName = (n) => n.length > 0 && !/[\s+]/u.test(n);
export const keyId = (name, pub) => sha256(Buffer.from(name, 'utf8'), Buffer.from([0x0a, 0x01]), pub).subarray(0, 4);

export function parseVerifierKey(vkey) {
  const m = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(String(vkey).trim()); // base64 may itself contain '+'
  if (!m) fail('verifier key is not <name>+<hex id>+<base64 key>');
  const [, name, hex, data] = m;
  if (!validName(name)) fail('verifier key has an invalid name');
  if (!/^[0-9a-f]{8}$/.test(hex)) fail('verifier key id is not 8 lowercase hex digits');
  const raw = b64(data, 'verifier key data');
  if (raw.length !== 33 || raw[0] !== 0x01) fail('verifier key is not an Ed25519 (type 0x01, 32-byte) key');
  const pub = raw.subarray(1);
  const id = keyId(name, pub);
  if (id.toString('hex') !== hex) fail(`verifier key id ${hex} does not match the key (computed ${id.toString('hex')})`);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') }, format: 'jwk' });
  return { name, id, key, text: `${name}+${hex}+${data}` };
}

// Returns the verified note text (a string ending in "\n").
export function openNote(noteBytes, vk) {
  const buf = Buffer.isBuffer(noteBytes) ? noteBytes : Buffer.from(noteBytes, 'utf8');
  let msg;
  try { msg = new TextDecoder('utf-8', { fatal: true }).decode(buf); } catch { fail('note is not valid UTF-8'); }
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(msg)) fail('note contains a control character other than newline');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) fail('note has no blank line before its signatures');
  const text = msg.slice(0, split + 1), sigs = msg.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) fail('note signature block is empty or does not end with a newline');
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > 100) fail('note has too many signatures');
  let match = null;
  for (const line of lines) {
    if (!line.startsWith('\u2014 ')) fail(`malformed signature line: ${JSON.stringify(line)}`);
    const rest = line.slice(2), sp = rest.indexOf(' ');
    if (sp < 0) fail(`malformed signature line: ${JSON.stringify(line)}`);
    const name = rest.slice(0, sp), sig = b64(rest.slice(sp + 1), 'signature');
    if (!validName(name) || sig.length < 5) fail(`malformed signature line: ${JSON.stringify(line)}`);
    if (match === null && name === vk.name && sig.subarray(0, 4).equals(vk.id)) match = sig;
  }
  if (match === null) fail(`no signature by ${vk.name} with key id ${vk.id.toString('hex')}`);
  if (match.length !== 68) fail('Ed25519 signature has the wrong length');
  if (!edVerify(null, Buffer.from(text, 'utf8'), vk.key, match.subarray(4))) fail('checkpoint signature does not verify');
  return text;
}

// ---------- C2SP tlog-checkpoint ----------
export function openCheckpoint(noteBytes, vk) {
  const lines = openNote(noteBytes, vk).split('\n');
  if (lines.length < 4) fail('checkpoint needs origin, size and root hash lines');
  const [origin, sizeLine, rootLine] = lines;
  if (origin === '') fail('checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) fail(`bad checkpoint size: ${sizeLine}`);
  const root = b64(rootLine, 'checkpoint root hash');
  if (root.length !== 32) fail('checkpoint root hash is not 32 bytes');
  return { origin, size: Number(sizeLine), root };
}

// ---------- commands ----------
const readArg = (file) => {
  try { return fs.readFileSync(file); } catch (e) { throw new UsageError(`cannot read ${file}: ${e.code || e.message}`); }
};
const parseJson = (text, what) => { try { return JSON.parse(text); } catch (e) { fail(`${what} is not valid JSON: ${e.message}`); } };
const index = (x, what) => { if (!Number.isSafeInteger(x) || x < 0) fail(`${what} is not a non-negative integer`); return x; };
const hashList = (a, what) => {
  if (!Array.isArray(a)) fail(`${what} is not an array`);
  return a.map((s, i) => { const h = b64(s, `${what}[${i}]`); need32(h, `${what}[${i}]`); return h; });
};

function cmdVectors([dir]) {
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.json') ? [path.join(d, e.name)] : []);
  const dec = (s) => Buffer.from(s ?? '', 'base64');
  const counts = { inclusion: 0, consistency: 0 }, bad = [];
  for (const kind of ['inclusion', 'consistency']) {
    const sub = path.join(dir, kind);
    if (!fs.existsSync(sub)) throw new UsageError(`${sub} does not exist`);
    for (const file of walk(sub).sort()) {
      const v = JSON.parse(fs.readFileSync(file, 'utf8'));
      const proof = (v.proof ?? []).map(dec);
      let err = null;
      try {
        if (kind === 'inclusion') verifyInclusion(v.leafIdx, v.treeSize, dec(v.leafHash), proof, dec(v.root));
        else verifyConsistency(v.size1, v.size2, proof, dec(v.root1), dec(v.root2));
      } catch (e) { if (!(e instanceof VerifyError)) throw e; err = e.message; }
      counts[kind]++;
      if ((err !== null) !== v.wantErr) bad.push(`${path.relative(dir, file)} (${v.desc}): wantErr=${v.wantErr}, got ${err ?? 'accepted'}`);
    }
  }
  const total = counts.inclusion + counts.consistency;
  if (total === 0) fail('no vectors found');
  for (const b of bad) console.log(`DISAGREE: ${b}`);
  if (bad.length) fail(`${bad.length} of ${total} vectors disagree`);
  return `OK: ${total} vectors agree (${counts.inclusion} inclusion, ${counts.consistency} consistency)`;
}

async function cmdExport([dir], opts) {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir} is not a directory`);
  const inDir = (f) => path.join(dir, f);
  const must = (f) => { try { return fs.readFileSync(inDir(f)); } catch (e) { fail(`cannot read ${inDir(f)}: ${e.code || e.message}`); } };
  const prevBytes = opts.previous && readArg(opts.previous);
  const vk = parseVerifierKey(opts.key ?? must('key').toString('utf8'));
  const cp = openCheckpoint(must('checkpoint'), vk);
  let prev = null, prevRoot = null;
  if (prevBytes) {
    prev = openCheckpoint(prevBytes, vk);
    if (prev.origin !== cp.origin) fail(`previous checkpoint origin ${JSON.stringify(prev.origin)} differs from ${JSON.stringify(cp.origin)}`);
    if (prev.size > cp.size) fail(`previous checkpoint size ${prev.size} is larger than current size ${cp.size}`);
    if (prev.size === 0) prevRoot = EMPTY_ROOT;
  }
  const tree = new TreeBuilder();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const onLine = (line, i) => {
    let obj;
    try { obj = JSON.parse(utf8.decode(line)); } catch (e) { fail(`entry ${i}: not valid JSON (${e.message})`); }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail(`entry ${i}: not a JSON object`);
    if (obj.index !== i) fail(`entry ${i}: "index" field is ${JSON.stringify(obj.index)}, expected ${i}`);
    tree.add(leafHash(line));
    if (prev && tree.size === prev.size) prevRoot = tree.root();
  };
  let i = 0, carry = null;
  try { fs.accessSync(inDir('entries.jsonl'), fs.constants.R_OK); } catch (e) { fail(`cannot read ${inDir('entries.jsonl')}: ${e.code}`); }
  for await (const chunk of fs.createReadStream(inDir('entries.jsonl'), { highWaterMark: 1 << 20 })) {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0, nl;
    while ((nl = buf.indexOf(0x0a, start)) !== -1) { onLine(buf.subarray(start, nl), i++); start = nl + 1; }
    carry = start < buf.length ? buf.subarray(start) : null;
  }
  if (carry) fail(`entry ${i}: last line does not end with a newline`);
  if (tree.size !== cp.size) fail(`entries.jsonl has ${tree.size} entries but the checkpoint size is ${cp.size}`);
  const root = tree.root();
  if (!root.equals(cp.root)) fail(`computed root ${root.toString('base64')} differs from checkpoint root ${cp.root.toString('base64')}`);
  if (prev && !prevRoot.equals(prev.root))
    fail(`root of the first ${prev.size} entries ${prevRoot.toString('base64')} differs from previous checkpoint root ${prev.root.toString('base64')}`);
  const ok = `OK: ${tree.size} entries, root ${root.toString('base64')}`;
  // Without --key, the export vouches for itself: say so, as `countersign ledger verify` does.
  return opts.key ? ok
    : `note: trusting the key in the export (${vk.text}); pin the log's key with --key\n${ok}`;
}

function cmdInclusion([proofFile, cpFile], opts) {
  const [proofText, cpBytes, leafBytes] = [readArg(proofFile), readArg(cpFile), opts.leaf && readArg(opts.leaf)];
  const vk = parseVerifierKey(opts.key);
  const p = parseJson(proofText.toString('utf8'), 'proof');
  const cp = openCheckpoint(cpBytes, vk);
  const idx = index(p.index, 'index'), size = index(p.size, 'size');
  if (size !== cp.size) fail(`proof size ${size} differs from checkpoint size ${cp.size}`);
  const lh = b64(p.leaf_hash, 'leaf_hash');
  need32(lh, 'leaf_hash');
  if (opts.leaf) {
    const want = leafHash(leafBytes);
    if (!want.equals(lh)) fail(`leaf_hash ${lh.toString('base64')} is not the hash of the leaf file (${want.toString('base64')})`);
  }
  verifyInclusion(idx, size, lh, hashList(p.hashes, 'hashes'), cp.root);
  return `OK: leaf ${idx} is included in tree of size ${size}, root ${cp.root.toString('base64')}`;
}

function cmdConsistency([proofFile, oldFile, newFile], opts) {
  const [proofText, oldBytes, newBytes] = [readArg(proofFile), readArg(oldFile), readArg(newFile)];
  const vk = parseVerifierKey(opts.key);
  const p = parseJson(proofText.toString('utf8'), 'proof');
  const oldCp = openCheckpoint(oldBytes, vk), newCp = openCheckpoint(newBytes, vk);
  const m = index(p.old, 'old'), n = index(p.new, 'new');
  if (oldCp.origin !== newCp.origin) fail('old and new checkpoints have different origins');
  if (m !== oldCp.size) fail(`proof old size ${m} differs from old checkpoint size ${oldCp.size}`);
  if (n !== newCp.size) fail(`proof new size ${n} differs from new checkpoint size ${newCp.size}`);
  verifyConsistency(m, n, hashList(p.hashes, 'hashes'), oldCp.root, newCp.root);
  return `OK: tree of size ${m} is consistent with tree of size ${n}, root ${newCp.root.toString('base64')}`;
}

function cmdEvidence([file], opts) {
  const evText = readArg(file);
  const vk = parseVerifierKey(opts.key);
  const ev = parseJson(evText.toString('utf8'), 'evidence');
  if (ev === null || typeof ev !== 'object') fail('evidence is not a JSON object');
  if (typeof ev.checkpoint !== 'string') fail('evidence has no checkpoint string');
  if (typeof ev.request_id !== 'string') fail('evidence has no request_id string');
  if (!Array.isArray(ev.events)) fail('evidence has no events array');
  const cp = openCheckpoint(ev.checkpoint, vk);
  const notes = [];
  if (ev.verifier_key !== vk.text) notes.push(`note: evidence verifier_key ${JSON.stringify(ev.verifier_key)} differs from --key`);
  ev.events.forEach((e, k) => {
    const where = `event ${k}`;
    if (typeof e?.leaf !== 'string') fail(`${where}: leaf is not a string`);
    const idx = index(e.index, `${where} index`);
    try { verifyInclusion(idx, cp.size, leafHash(Buffer.from(e.leaf, 'utf8')), hashList(e.proof, 'proof'), cp.root); }
    catch (err) { fail(`${where} (index ${idx}): ${err.message}`); }
    const leaf = parseJson(e.leaf, `${where} leaf`);
    if (leaf === null || typeof leaf !== 'object') fail(`${where} (index ${idx}): leaf is not a JSON object`);
    if (leaf.request_id !== ev.request_id) fail(`${where} (index ${idx}): request_id ${JSON.stringify(leaf.request_id)} differs from ${JSON.stringify(ev.request_id)}`);
    if (leaf.index !== idx) fail(`${where} (index ${idx}): leaf "index" field is ${JSON.stringify(leaf.index)}`);
  });
  return [...notes, `OK: ${ev.events.length} events verified against checkpoint size ${cp.size}`].join('\n');
}

const COMMANDS = {
  vectors: { run: cmdVectors, args: 1, flags: [] },
  export: { run: cmdExport, args: 1, flags: ['key', 'previous'] },
  inclusion: { run: cmdInclusion, args: 2, flags: ['key', 'leaf'], required: ['key'] },
  consistency: { run: cmdConsistency, args: 3, flags: ['key'], required: ['key'] },
  evidence: { run: cmdEvidence, args: 1, flags: ['key'], required: ['key'] },
};

export async function main(argv) {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    (argv.length ? console.log : console.error)(USAGE);
    return argv.length ? 0 : 2;
  }
  try {
    const cmd = COMMANDS[argv[0]];
    if (!cmd) throw new UsageError(`unknown command ${argv[0]}`);
    const pos = [], opts = {};
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i];
      if (!a.startsWith('--')) { pos.push(a); continue; }
      const name = a.slice(2);
      if (!cmd.flags.includes(name)) throw new UsageError(`unknown option ${a} for ${argv[0]}`);
      if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
      opts[name] = argv[++i];
    }
    if (pos.length !== cmd.args) throw new UsageError(`${argv[0]} takes ${cmd.args} argument(s), got ${pos.length}`);
    for (const r of cmd.required ?? []) if (opts[r] === undefined) throw new UsageError(`${argv[0]} needs --${r}`);
    console.log(await cmd.run(pos, opts));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) { console.error(`usage error: ${e.message}\n${USAGE}`); return 2; }
    console.log(`FAIL: ${e instanceof VerifyError ? e.message : e.stack}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
