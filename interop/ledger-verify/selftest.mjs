#!/usr/bin/env node
// Self-test for verify.mjs: builds its own fixture (RFC 9162 §2.1 tree, §2.1.3.1 / §2.1.4.1
// proof generation, C2SP signed checkpoint), runs every subcommand expecting success, then
// tampers with the fixture expecting failure. Usage: node selftest.mjs [MERKLE_VECTORS_DIR]
import { generateKeyPairSync, sign } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY_ROOT, TreeBuilder, keyId, leafHash, nodeHash, openNote, parseVerifierKey,
  verifyConsistency, verifyInclusion } from './verify.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = process.argv[2] ?? '/work/shared/testdata/merkle';
let passed = 0, failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `\n     ${detail.trim().replace(/\n/g, '\n     ')}`}`);
};
const throws = (f) => { try { f(); return false; } catch { return true; } };

// ---- RFC 9162 reference tree and proof generation (recursive, straight from the definitions) ----
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; }; // largest power of 2 < n
const mth = (D) => D.length === 0 ? EMPTY_ROOT : D.length === 1 ? D[0]
  : nodeHash(mth(D.slice(0, split(D.length))), mth(D.slice(split(D.length))));
function inclusionPath(m, D) { // §2.1.3.1 PATH(m, D[n]); D = leaf hashes
  if (D.length <= 1) return [];
  const k = split(D.length);
  return m < k ? [...inclusionPath(m, D.slice(0, k)), mth(D.slice(k))]
    : [...inclusionPath(m - k, D.slice(k)), mth(D.slice(0, k))];
}
function subproof(m, D, b) { // §2.1.4.1 SUBPROOF(m, D[n], b)
  if (m === D.length) return b ? [] : [mth(D)];
  const k = split(D.length);
  return m <= k ? [...subproof(m, D.slice(0, k), b), mth(D.slice(k))]
    : [...subproof(m - k, D.slice(k), false), mth(D.slice(0, k))];
}
const consistencyProof = (m, D) => subproof(m, D, true);

// ---- C2SP signed-note signing ----
function newSigner(name) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const id = keyId(name, pub);
  const vkey = `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([1]), pub]).toString('base64')}`;
  const sigLine = (text) => `\u2014 ${name} ${Buffer.concat([id, sign(null, Buffer.from(text), privateKey)]).toString('base64')}\n`;
  return { vkey, sigLine };
}
const checkpointText = (origin, size, root) => `${origin}\n${size}\n${root.toString('base64')}\n`;

// ---- 1. unit checks of the library against the reference definitions ----
const N = 37;
const entries = Array.from({ length: N }, (_, i) =>
  JSON.stringify({ index: i, request_id: `req-${i % 3}`, payload: `event ${i} \u00e9\u2713`, n: i * i }));
const leaves = entries.map((e) => leafHash(Buffer.from(e, 'utf8')));
{
  let bad = [];
  const tb = new TreeBuilder();
  for (let n = 0; n <= N; n++) {
    if (n > 0) tb.add(leaves[n - 1]);
    const D = leaves.slice(0, n), root = mth(D);
    if (!tb.root().equals(root)) bad.push(`streaming root n=${n}`);
    for (let i = 0; i < n; i++) {
      const p = inclusionPath(i, D);
      if (throws(() => verifyInclusion(i, n, leaves[i], p, root))) bad.push(`inclusion ${i}/${n}`);
      if (n > 1 && !throws(() => verifyInclusion((i + 1) % n, n, leaves[i], p, root))) bad.push(`wrong index ${i}/${n}`);
    }
    for (let m = 1; m <= n; m++) {
      const p = consistencyProof(m, D), r1 = mth(leaves.slice(0, m));
      if (throws(() => verifyConsistency(m, n, p, r1, root))) bad.push(`consistency ${m}/${n}`);
      if (m < n && !throws(() => verifyConsistency(m, n, p, root, root))) bad.push(`wrong old root ${m}/${n}`);
    }
  }
  check(`library: streaming root, all inclusion and consistency proofs for sizes 0..${N}`, bad.length === 0, bad.slice(0, 5).join('\n'));
}
{ // known-answer notes published with Go's sumdb/note and an independent signed-note implementation
  const kat = [
    ['PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'If you think cryptography is the answer to your problem,\nthen you don\'t know what your problem is.\n\n' +
      '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n'],
    ['example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      'This is an example message.\n\n' +
      '\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n'],
  ];
  for (const [vkey, note] of kat) {
    let err = '';
    try { openNote(note, parseVerifierKey(vkey)); } catch (e) { err = e.message; }
    check(`library: known-answer signed note ${vkey.split('+')[0]}`, !err, err);
    check(`library: known-answer note with altered text rejected`, throws(() => openNote(note.replace('.', '!'), parseVerifierKey(vkey))));
  }
}

// ---- 2. CLI fixture ----
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-verify-'));
const origin = 'countersign.selftest/ledger';
const signer = newSigner(origin), other = newSigner('someone.else/witness'), stranger = newSigner(origin);
const note = (size, root, s = signer, extra = '') => {
  const text = checkpointText(origin, size, root) + extra;
  return text + '\n' + other.sigLine(text) + s.sigLine(text); // an unrelated signature comes first
};
const write = (name, data) => { const f = path.join(tmp, name); fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, data); return f; };
const makeExport = (dir, lines, cpNote, key = signer.vkey) => {
  write(`${dir}/entries.jsonl`, lines.map((l) => l + '\n').join(''));
  write(`${dir}/checkpoint`, cpNote);
  write(`${dir}/key`, key + '\n');
  return path.join(tmp, dir);
};
const root = mth(leaves), M = 20, rootM = mth(leaves.slice(0, M));
const good = makeExport('good', entries, note(N, root, signer, 'extension line\n'));
const prev = write('prev.checkpoint', note(M, rootM));
const inclProof = write('incl.json', JSON.stringify({ index: 11, size: N, leaf_hash: leaves[11].toString('base64'),
  hashes: inclusionPath(11, leaves).map((h) => h.toString('base64')) }));
const leafFile = write('leaf11', entries[11]);
const consProof = write('cons.json', JSON.stringify({ old: M, new: N, hashes: consistencyProof(M, leaves).map((h) => h.toString('base64')) }));
const cp = path.join(good, 'checkpoint');
const evidenceObj = { request_id: 'req-1', checkpoint: note(N, root), verifier_key: signer.vkey,
  events: [1, 4, 22, 34].map((i) => ({ index: i, leaf: entries[i], proof: inclusionPath(i, leaves).map((h) => h.toString('base64')) })) };
const evidence = write('evidence.json', JSON.stringify(evidenceObj));
const K = ['--key', signer.vkey];

// Runs the CLI; `expect` is a substring the output must contain (so a failure is for the intended reason).
function run(name, want, args, expect = want === 0 ? 'OK' : want === 1 ? 'FAIL' : 'usage') {
  const r = spawnSync(process.execPath, [path.join(HERE, 'verify.mjs'), ...args], { encoding: 'utf8', timeout: 120000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), ok = r.status === want && out.includes(expect);
  const shown = want === 2 ? out.split('\n')[0] : out.split('\n').at(-1);
  check(`${name} -> exit ${want}${ok ? `: ${shown}` : ''}`, ok, `got exit ${r.status}${r.error ? ` (${r.error.message})` : ''}, want "${expect}": ${out}`);
}

run('help', 0, ['--help'], 'usage:');
run('vectors', 0, ['vectors', VECTORS]);
run('export (the key in the export, said)', 0, ['export', good], 'note: trusting the key in the export');
run('export --key', 0, ['export', good, ...K]);
run('export --previous', 0, ['export', good, '--previous', prev]);
run('export --previous (same size)', 0, ['export', good, '--previous', cp]);
run('export --previous (size 0)', 0, ['export', good, '--previous', write('prev0', note(0, EMPTY_ROOT))]);
run('export of an empty log', 0, ['export', makeExport('empty', [], note(0, EMPTY_ROOT))]);
run('inclusion', 0, ['inclusion', inclProof, cp, ...K, '--leaf', leafFile]);
run('consistency', 0, ['consistency', consProof, prev, cp, ...K]);
run('evidence', 0, ['evidence', evidence, ...K]);
run('evidence with a differing verifier_key (reported, not fatal)', 0, ['evidence',
  write('ev-vkey.json', JSON.stringify({ ...evidenceObj, verifier_key: other.vkey })), ...K], 'differs from --key');

// tampering: every case must fail with exit 1
const edited = [...entries]; edited[7] = edited[7].replace('event 7', 'event 7!');
run('tamper: edited entry', 1, ['export', makeExport('edited', edited, note(N, root))], "computed root");
run('tamper: deleted line', 1, ['export', makeExport('deleted', entries.filter((_, i) => i !== 5), note(N, root))], "entry 5: \"index\" field is 6");
const swapped = [...entries]; [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
run('tamper: swapped lines', 1, ['export', makeExport('swapped', swapped, note(N, root))], "entry 3: \"index\" field is 4");
run('tamper: swapped lines with renumbered index', 1, ['export', makeExport('swapped2', swapped.map((e, i) =>
  JSON.stringify({ ...JSON.parse(e), index: i })), note(N, root))], "computed root");
run('tamper: extra entry', 1, ['export', makeExport('extra', [...entries, JSON.stringify({ index: N })], note(N, root))], "38 entries but the checkpoint size is 37");
run('tamper: invalid JSON line', 1, ['export', makeExport('badjson', [...entries.slice(0, 36), '{"index":36,'], note(N, root))], "entry 36: not valid JSON");
const noNl = makeExport('nonl', entries, note(N, root));
fs.writeFileSync(path.join(noNl, 'entries.jsonl'), entries.join('\n'));
run('tamper: missing final newline', 1, ['export', noNl], "entry 36: last line does not end with a newline");
const crlf = makeExport('crlf', entries, note(N, root));
fs.writeFileSync(path.join(crlf, 'entries.jsonl'), entries.map((e) => e + '\r\n').join(''));
run('tamper: CRLF line endings', 1, ['export', crlf], "computed root");
const flipped = (() => {
  const n = note(N, root), i = n.lastIndexOf(' ') + 1, sig = Buffer.from(n.slice(i, -1), 'base64');
  sig[20] ^= 0x01;
  return n.slice(0, i) + sig.toString('base64') + '\n';
})();
run('tamper: flipped signature byte', 1, ['export', makeExport('flipped', entries, flipped)], "signature does not verify");
run('tamper: root line changed after signing', 1, ['export', makeExport('reroot', entries, note(N, root).replace(root.toString('base64'), rootM.toString('base64')))], "signature does not verify");
run('tamper: control character in note', 1, ['export', makeExport('ctrl', entries, note(N, root, signer, 'x\ty\n'))], "control character");
run('tamper: wrong key (--key)', 1, ['export', good, '--key', stranger.vkey], "no signature by");
run('tamper: wrong key (key file)', 1, ['export', makeExport('wrongkey', entries, note(N, root), stranger.vkey)], "no signature by");
run('tamper: signed by another key of the same name', 1, ['export', makeExport('stranger', entries, note(N, root, stranger))], "no signature by");
run('tamper: verifier key with wrong key id', 1, ['export', good, '--key', signer.vkey.replace(/\+([0-9a-f]{8})\+/, (_, h) => `+${h.slice(0, 7)}${h[7] === '0' ? '1' : '0'}+`)], "does not match the key");
run('tamper: previous checkpoint larger than current', 1, ['export', makeExport('small', entries.slice(0, M), note(M, rootM)), '--previous', cp], "previous checkpoint size 37 is larger than current size 20");
run('tamper: previous checkpoint with wrong root', 1, ['export', good, '--previous', write('prevbad', note(M, mth(leaves.slice(1, M + 1))))], "root of the first 20 entries");
run('tamper: previous checkpoint with other origin', 1, ['export', good, '--previous',
  write('prevorigin', (() => { const t = checkpointText('other/log', M, rootM); return t + '\n' + signer.sigLine(t); })())], "origin");
run('tamper: inclusion with wrong leaf file', 1, ['inclusion', inclProof, cp, ...K, '--leaf', write('leaf12', entries[12])], "is not the hash of the leaf file");
const badIncl = JSON.parse(fs.readFileSync(inclProof)); badIncl.hashes[2] = leaves[0].toString('base64');
run('tamper: inclusion with altered proof hash', 1, ['inclusion', write('incl-bad.json', JSON.stringify(badIncl)), cp, ...K], "does not lead to the root");
run('tamper: inclusion with wrong size', 1, ['inclusion', write('incl-size.json', JSON.stringify({ ...JSON.parse(fs.readFileSync(inclProof)), size: N - 1 })), cp, ...K], "differs from checkpoint size");
run('tamper: inclusion with wrong key', 1, ['inclusion', inclProof, cp, '--key', stranger.vkey], "no signature by");
run('tamper: consistency with altered proof', 1, ['consistency', write('cons-bad.json', JSON.stringify({ old: M, new: N,
  hashes: consistencyProof(M, leaves).reverse().map((h) => h.toString('base64')) })), prev, cp, ...K], "consistency proof does not lead");
run('tamper: consistency with mismatched old checkpoint', 1, ['consistency', consProof, write('prev21', note(M + 1, mth(leaves.slice(0, M + 1)))), cp, ...K], "differs from old checkpoint size");
run('tamper: evidence with other request_id', 1, ['evidence', write('ev-rid.json', JSON.stringify({ ...evidenceObj, request_id: 'req-2' })), ...K], "request_id");
const evLeaf = structuredClone(evidenceObj); evLeaf.events[2].leaf = evLeaf.events[2].leaf.replace('event', 'Event');
run('tamper: evidence with altered leaf', 1, ['evidence', write('ev-leaf.json', JSON.stringify(evLeaf)), ...K], "event 2 (index 22): inclusion proof does not lead");
const evIdx = structuredClone(evidenceObj); evIdx.events[1].index = 5;
run('tamper: evidence with wrong index', 1, ['evidence', write('ev-idx.json', JSON.stringify(evIdx)), ...K], "event 1 (index 5)");
{ // a correctly signed tree whose leaf 3 carries the wrong "index" field
  const e2 = entries.map((e, i) => (i === 3 ? JSON.stringify({ ...JSON.parse(e), index: 99 }) : e));
  const l2 = e2.map((e) => leafHash(Buffer.from(e, 'utf8')));
  run('tamper: evidence leaf with wrong "index" field', 1, ['evidence', write('ev-field.json', JSON.stringify({ ...evidenceObj,
    request_id: 'req-0', checkpoint: note(N, mth(l2)),
    events: [{ index: 3, leaf: e2[3], proof: inclusionPath(3, l2).map((h) => h.toString('base64')) }] })), ...K], 'leaf "index" field is 99');
  run('tamper: export with wrong "index" field', 1, ['export', makeExport('field', e2, note(N, mth(l2)))], 'entry 3: "index" field is 99');
}
run('tamper: evidence with wrong key', 1, ['evidence', evidence, '--key', stranger.vkey], "no signature by");

// usage errors: exit 2
run('usage: no arguments', 2, []);
run('usage: unknown command', 2, ['frobnicate']);
run('usage: inclusion without --key', 2, ['inclusion', inclProof, cp]);
run('usage: unknown option', 2, ['export', good, '--bogus', 'x']);
run('usage: export DIR does not exist', 2, ['export', path.join(tmp, 'no-such-dir')], 'is not a directory');
run('usage: missing proof file', 2, ['consistency', path.join(tmp, 'nope.json'), prev, cp, ...K], "cannot read");

fs.rmSync(tmp, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
