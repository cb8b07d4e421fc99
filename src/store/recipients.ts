/**
 * Distinct-recipient sketches for the memory store: HyperLogLog registers
 * kept in shared 1 MB byte arrays, so a key's sketch costs 256 bytes and no
 * object of its own.
 */

/** HyperLogLog precision: 2^8 = 256 one-byte registers, a standard error of about 6.5 %. */
const PRECISION = 8;
/** Bytes per sketch. */
export const SKETCH_BYTES = 1 << PRECISION;
/** Bias correction for m = 256 (Flajolet et al., 2007). */
const ALPHA = 0.7213 / (1 + 1.079 / SKETCH_BYTES);
/** Sketches per chunk (2^12 = 4096, 1 MB). */
const CHUNK_BITS = 12;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;

/** 32-bit FNV-1a over UTF-16 code units, then the MurmurHash3 finaliser so every bit depends on every input bit. Returns an unsigned integer. */
export function hashRecipient(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i += 1) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Fixed-size HyperLogLog sketches in chunks that are allocated as needed, with a free list. */
export class SketchPool {
  private readonly chunks: Uint8Array[] = [];
  private used = 0;
  private readonly free: number[] = [];

  constructor(private readonly maxSketches: number) {}

  /** Returns the index of a cleared sketch, or null when `maxSketches` are in use. */
  allocate(): number | null {
    const reused = this.free.pop();
    if (reused !== undefined) {
      const offset = this.offset(reused);
      this.chunk(reused).fill(0, offset, offset + SKETCH_BYTES);
      return reused;
    }
    if (this.used >= this.maxSketches) return null;
    const index = this.used;
    this.used += 1;
    if (index >>> CHUNK_BITS >= this.chunks.length) {
      const sketches = Math.min(CHUNK_MASK + 1, this.maxSketches - index);
      this.chunks.push(new Uint8Array(sketches * SKETCH_BYTES));
    }
    return index;
  }

  release(index: number): void {
    this.free.push(index);
  }

  add(index: number, hash: number): void {
    const data = this.chunk(index);
    const register = this.offset(index) + (hash >>> (32 - PRECISION));
    // Rank of the first 1 bit in the remaining 24 bits, from 1 to 25.
    const rank = Math.clz32((hash << PRECISION) | (1 << (PRECISION - 1))) + 1;
    if (rank > (data[register] ?? 0)) data[register] = rank;
  }

  /** Returns the estimated number of distinct hashes added, rounded. */
  estimate(index: number): number {
    const data = this.chunk(index);
    const offset = this.offset(index);
    let sum = 0;
    let zeros = 0;
    for (let register = offset; register < offset + SKETCH_BYTES; register += 1) {
      const value = data[register] ?? 0;
      sum += 2 ** -value;
      if (value === 0) zeros += 1;
    }
    const raw = (ALPHA * SKETCH_BYTES * SKETCH_BYTES) / sum;
    // Small-range correction: linear counting is more accurate while registers are still empty.
    const estimate = raw <= 2.5 * SKETCH_BYTES && zeros > 0 ? SKETCH_BYTES * Math.log(SKETCH_BYTES / zeros) : raw;
    return Math.round(estimate);
  }

  private chunk(index: number): Uint8Array {
    const chunk = this.chunks[index >>> CHUNK_BITS];
    if (chunk === undefined) throw new RangeError(`sketch ${index} was never allocated`);
    return chunk;
  }

  private offset(index: number): number {
    return (index & CHUNK_MASK) * SKETCH_BYTES;
  }
}
