// Independent known-answer vectors for cairn-consensus's unit tests: every preimage is packed by
// hand (no ABI library), hashed with js-sha3 (keccak) and Node's sha256. Run from anywhere:
//   node runtime/consensus/tests/data/kat.js
// js-sha3 comes from the tools/ npm install.
const path = require('path');
const { keccak256 } = require(path.join(__dirname, '../../../../tools/node_modules/js-sha3'));
const crypto = require('crypto');
const hex = b => Buffer.from(b).toString('hex');
const k = buf => Buffer.from(keccak256.arrayBuffer(buf));
const sha = buf => crypto.createHash('sha256').update(buf).digest();
const u256 = n => { let x = BigInt.asUintN(256, BigInt(n)); return Buffer.from(x.toString(16).padStart(64, '0'), 'hex'); };
const uN = (n, bytes) => Buffer.from(BigInt(n).toString(16).padStart(bytes*2, '0'), 'hex');
const b32 = s => Buffer.from(s.replace(/^0x/, '').padStart(64, '0'), 'hex');
const addr = s => Buffer.from(s.replace(/^0x/, ''), 'hex');
const pad32 = b => Buffer.concat([Buffer.alloc(12), b]);
const toField = b => Buffer.concat([Buffer.alloc(1), sha(b).subarray(0, 31)]);
const big = b => BigInt('0x' + hex(b));

// committee (SampleLib literal port with transient override semantics)
function computeCommittee(size, n, seedBuf) {
  if (size > n) throw 'too big';
  if (size == 0) return [];
  const ov = new Map(); const get = x => (ov.get(x) || 0) !== 0 ? ov.get(x) : x;
  let upper = n - 1; const out = [];
  for (let i = 0; i < size; i++) {
    const cnt = upper + 1;
    const s = cnt <= 1 ? 0 : Number(big(k(Buffer.concat([seedBuf, u256(i)]))) % BigInt(cnt));
    out.push(get(s));
    if (upper > 0) { ov.set(s, get(upper)); upper--; }
  }
  return out;
}
const seed = k(Buffer.from('cairn committee seed'));
console.log('seed', hex(seed));
for (const [s, n] of [[4, 4], [4, 10], [48, 100], [5, 1000]]) console.log('committee', s, n, JSON.stringify(computeCommittee(s, n, seed)));
const randao = BigInt('0x' + 'ab'.repeat(28)); // a uint224
const eseed = k(Buffer.concat([u256(3), u256(randao)]));
console.log('epoch_seed(3, 0xab*28)', hex(eseed));
for (const slot of [96, 97, 98, 99, 127]) console.log('proposer', 3, slot, Number(big(k(Buffer.concat([u256(3), u256(slot), eseed]))) % 48n), Number(big(k(Buffer.concat([u256(3), u256(slot), eseed]))) % 4n));
const A = ['0x1111111111111111111111111111111111111111','0x2222222222222222222222222222222222222222','0x3333333333333333333333333333333333333333','0x4444444444444444444444444444444444444444'];
const arr = addrs => Buffer.concat([u256(addrs.length), ...addrs.map(a => pad32(addr(a)))]);
console.log('committee_commitment', hex(k(Buffer.concat([u256(32), arr(A)]))));
console.log('committee_commitment([])', hex(k(Buffer.concat([u256(32), u256(0)]))));
// header
const H = {
  last: b32('0x01'), bhh: b32('0x02'), blobs: b32('0x03'), inh: b32('0x00de7b349d2306334734e4f58b1302a6ed5a6c796a706f6597a5641b6d468223'),
  out: b32('0x00c95e0ceb41951039e1592745ec2faea9866f6eaf01bf189a4463b4143af093'),
  slot: 98, ts: 1795241000, coinbase: addr('0x5555555555555555555555555555555555555555'), fr: b32('0x06'),
  da: 0, l2: 295838900000n, mana: 150000000,
};
const packed = Buffer.concat([H.last, H.bhh, H.blobs, H.inh, H.out, u256(H.slot), uN(H.ts, 8), H.coinbase, H.fr, uN(H.da, 16), uN(H.l2, 16), u256(H.mana)]);
console.log('packed len', packed.length);
const hh = toField(packed);
console.log('header_hash', hex(hh));
// payload digest
const archive = b32('0x0a');
for (const m of [0, 100, -100]) {
  console.log('payload_digest', m, hex(k(Buffer.concat([u256(1), archive, u256(m), hh]))));
}
const dig = k(Buffer.concat([u256(1), archive, u256(0), hh]));
console.log('eth_signed(payload m=0)', hex(k(Buffer.concat([Buffer.from('\x19Ethereum Signed Message:\n32'), dig]))));
// attestations: committee A, sigs at 0 and 2
const sig = (v, fill) => Buffer.concat([Buffer.from([v]), Buffer.alloc(32, fill), Buffer.alloc(32, fill + 1)]);
const bitmap = Buffer.from([0xa0]);
const soa = Buffer.concat([sig(27, 0x10), addr(A[1]), sig(28, 0x20), addr(A[3])]);
console.log('soa len', soa.length);
const padTo32 = b => Buffer.concat([b, Buffer.alloc((32 - b.length % 32) % 32)]);
const encBytes = b => Buffer.concat([u256(b.length), padTo32(b)]);
// tuple (bytes,bytes) body
const tupleBody = (x, y) => { const ex = encBytes(x); return Buffer.concat([u256(64), u256(64 + ex.length), ex, encBytes(y)]); };
const tb = tupleBody(bitmap, soa);
const attEnc = Buffer.concat([u256(32), tb]);
console.log('attestations_hash', hex(k(attEnc)));
const signers = [A[0], A[2]];
const arrBody = arr(signers);
const sd = Buffer.concat([u256(2), u256(96), u256(96 + tb.length), tb, arrBody]);
console.log('attestations_and_signers_digest', hex(k(sd)));
// empty attestations hash
console.log('attestations_hash(empty)', hex(k(Buffer.concat([u256(32), tupleBody(Buffer.alloc(0), Buffer.alloc(0))]))));
// blobs
const c0 = Buffer.concat([Buffer.from([0xc0]), Buffer.alloc(47)]);
const vh = Buffer.concat([Buffer.from([1]), sha(c0).subarray(1)]);
console.log('versioned_hash(inf)', hex(vh));
const c1 = Buffer.alloc(48, 0x77);
const vh1 = Buffer.concat([Buffer.from([1]), sha(c1).subarray(1)]);
console.log('versioned_hash(0x77*48)', hex(vh1));
console.log('blobs_hash([inf, 77])', hex(toField(Buffer.concat([vh, vh1]))));
const bch0 = toField(c0);
console.log('blob_commitments_hash(first, [inf,77])', hex(toField(Buffer.concat([bch0, c1]))));
console.log('blob_commitments_hash(prev=0x..01, [77])', hex(toField(Buffer.concat([b32('0x01'), c1]))));
// topics / selectors
for (const s of ['CheckpointProposed(uint256,bytes32,bytes32[],bytes32,bytes32)','L2ProofVerified(uint256,address)','PrunedPending(uint256,uint256)','CheckpointInvalidated(uint256)']) console.log('topic', s, hex(k(Buffer.from(s))));
