// Proof of work for the booth form (server side: internal/shield/pow.go).
// The answer to a render token's challenge is a decimal nonce such that
// SHA-256(SHA-256(token) + nonce digits) begins with `bits` zero bits: one
// SHA-256 block per try. Plain JavaScript, since crypto.subtle needs a
// secure context and a venue's LAN may serve the form over plain HTTP.

// SHA-256 constants (FIPS 180-4, 4.2.2 and 5.3.3).
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

// compress hashes the 64-byte block at bytes[offset] into the state h.
function compress(h, w, bytes, offset) {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15], b = w[i - 2];
    const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
    const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
}

// sha256 returns the digest of bytes as 8 words.
export function sha256(bytes) {
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const buf = new Uint8Array(blocks * 64);
  buf.set(bytes);
  buf[bytes.length] = 0x80;
  const bitLen = bytes.length * 8;
  const view = new DataView(buf.buffer);
  view.setUint32(buf.length - 8, Math.floor(bitLen / 0x100000000));
  view.setUint32(buf.length - 4, bitLen >>> 0);
  const h = new Int32Array(H0);
  const w = new Int32Array(64);
  for (let i = 0; i < blocks; i++) compress(h, w, buf, i * 64);
  return Array.from(h, (x) => x >>> 0);
}

const nextTick = () => new Promise((resolve) => setTimeout(resolve, 0));

// solve finds the first nonce from `start` whose digest with token begins
// with bits (1 to 32) zero bits. It yields to the page every `chunk` tries
// so the form stays responsive; an aborted signal stops it.
export async function solve(token, bits, { signal, chunk = 16384, start = 0 } = {}) {
  if (!(bits >= 1 && bits <= 32)) throw new RangeError("bits must be 1 to 32");
  // The block: the token's digest, the digits, 0x80, zeros, the bit length.
  const block = new Uint8Array(64);
  sha256(new TextEncoder().encode(token)).forEach((x, i) => {
    block[i * 4] = x >>> 24; block[i * 4 + 1] = x >>> 16; block[i * 4 + 2] = x >>> 8; block[i * 4 + 3] = x;
  });
  const h = new Int32Array(8);
  const w = new Int32Array(64);
  const mask = bits === 32 ? -1 : ~(0xffffffff >>> bits);
  for (let n = start; ; n++) {
    if ((n - start) % chunk === 0 && n > start) {
      await nextTick();
      if (signal && signal.aborted) throw signal.reason || new Error("aborted");
    }
    const digits = String(n);
    let len = 32;
    for (let i = 0; i < digits.length; i++) block[len++] = digits.charCodeAt(i);
    // A longer nonce overwrites a shorter one's 0x80; the rest stays zero.
    block[len] = 0x80;
    const bitLen = len * 8;
    block[62] = bitLen >>> 8; block[63] = bitLen;
    h.set(H0);
    compress(h, w, block, 0);
    if ((h[0] & mask) === 0) return digits;
  }
}

// fill answers the challenge of a form whose render_token input has
// data-pow-bits, in its pow_nonce input (added if missing), and resolves
// to the nonce (null when the form asks for none). Each answer counts
// once: for the next lead from the same page call it again; it searches
// on from the answer in the form.
export function fill(form, options = {}) {
  const token = form.querySelector('input[name="render_token"][data-pow-bits]');
  if (!token) return Promise.resolve(null);
  let out = form.querySelector('input[name="pow_nonce"]');
  if (!out) {
    out = document.createElement("input");
    out.type = "hidden";
    out.name = "pow_nonce";
    form.append(out);
  }
  const start = out.value === "" ? 0 : Number(out.value) + 1;
  return solve(token.value, Number(token.dataset.powBits), { ...options, start }).then((nonce) => {
    out.value = nonce;
    return nonce;
  });
}
