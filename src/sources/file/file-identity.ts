/**
 * How a file is recognised across restarts: its inode number and a fingerprint of
 * its first bytes. The fingerprint covers `min(HEAD_BYTES, offset)` bytes, so it only ever
 * covers bytes already read, and the length it covers follows from the stored offset.
 */
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";

export const HEAD_BYTES = 256;

/**
 * The inode number as text, from a bigint stat (not all inode numbers fit in a double). The
 * device is left out on purpose: its number can change across reboots (LVM, NFS), which would
 * make every file look new and be read again.
 */
export const inodeOf = (stat: { readonly ino: bigint }): string => stat.ino.toString();

/** Hex SHA-1 of the first `min(HEAD_BYTES, offset)` bytes of the open file. */
export const headOf = async (file: FileHandle, offset: number): Promise<string> => {
  const length = Math.min(HEAD_BYTES, offset);
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return hashHead(buffer.subarray(0, filled));
};

export const hashHead = (bytes: Uint8Array): string =>
  createHash("sha1").update(bytes).digest("hex");
