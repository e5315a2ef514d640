/**
 * Typed arrays for the tables that grow to tens of megabytes (the decision book, its prefix
 * index, the nftables enforcer's addresses, the AS data while it loads), allocated so that what they free goes back to the
 * system.
 *
 * An ArrayBuffer's memory comes from malloc. glibc serves a request below its mmap threshold
 * from the heap, and raises that threshold to the size of any mapped block freed, up to 32 MiB:
 * once a table has grown by copying, the next copies land in the heap, and the old ones freed
 * there stay resident (a million decisions left 60–80 MB of such holes). So an array of LARGE
 * bytes or more gets a buffer of at least RESERVE bytes: always mapped, unmapped when freed,
 * and the pages it never touches cost no memory. The room past the array's length lets it grow
 * in place, without a copy.
 */

/** From this size an array gets a buffer of its own mapping. */
const LARGE = 1 << 20;
/** Above glibc's largest mmap threshold (32 MiB, 64-bit), with room for malloc's header. */
const RESERVE = 33 << 20;

type Large =
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>;

interface LargeArrayType<T extends Large> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A zeroed array of `length` elements (past LARGE bytes, in a buffer with room to grow). */
export function largeArray<T extends Large>(type: LargeArrayType<T>, length: number): T {
  const bytes = length * type.BYTES_PER_ELEMENT;
  return new type(new ArrayBuffer(bytes < LARGE ? bytes : Math.max(bytes, RESERVE)), 0, length);
}

/**
 * `old` grown to `length` elements, its elements kept and the new ones zero: a longer view of
 * the same buffer when it has room (the buffer is only ever viewed growing, so the room is
 * still zero), else a copy, in a buffer twice as large past LARGE bytes.
 */
export function grownArray<T extends Large>(type: LargeArrayType<T>, old: T, length: number): T {
  const bytes = length * type.BYTES_PER_ELEMENT;
  if (old.byteOffset === 0 && bytes <= old.buffer.byteLength && length >= old.length)
    return new type(old.buffer, 0, length);
  const size = bytes < LARGE ? bytes : Math.max(bytes, RESERVE, 2 * old.buffer.byteLength);
  const grown = new type(new ArrayBuffer(size), 0, length);
  grown.set(old);
  return grown;
}
