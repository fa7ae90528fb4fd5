/**
 * NumPy's `.npy` format, version 1.0, for `pipe export`
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *
 * ```
 * "\x93NUMPY" 0x01 0x00  [u16 LE header length]  header  [raw C-order data]
 * header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded
 *         with spaces and ended by "\n" so that data starts at a multiple of 64
 * ```
 */
import type { NamedTensor } from '../cache/tensors.js';

const DESCR: Record<NamedTensor['dtype'], string> = { float32: '<f4', int32: '<i4', uint8: '|u1' };

/** The `.npy` bytes of a tensor (little-endian host, like the tensor files). */
export function encodeNpy(t: NamedTensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}
