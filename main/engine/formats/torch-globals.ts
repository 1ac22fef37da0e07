/**
 * The whitelist of Python globals a torch checkpoint may reference, and what each one builds.
 *
 * This is the security boundary of checkpoint loading: pickle's GLOBAL + REDUCE is arbitrary
 * code execution in Python, so only names whose effect we re-implement as pure data
 * transformations are accepted (tensor rebuilding, OrderedDict, torch.Size, dtype names, and the
 * numpy scalar encoding that training scripts leave in metadata fields). Everything else makes
 * the unpickler raise "unsupported object <module>.<name> in the checkpoint".
 */
import type { Entry } from 'yauzl';
import { ModelFileError } from '../errors.js';
import { float16BitsToFloat32 } from './float16.js';
import { formatBytes, formatShape } from './format-size.js';
import { PickleCallable, PickleDict, toInt, type PickleStateful, type UnpickleOptions } from './pickle.js';
import { DTYPE_BYTES, spanElements, type DType, type FileTensor } from './tensor.js';

/** One `<prefix>/data/<key>` entry; `dataStart` is filled in from its local header later. */
export interface StorageRef {
  readonly key: string;
  readonly entry: Entry;
  readonly nbytes: number;
  dataStart: number;
}

/** Builds the tensor object; `offset` is relative to the storage until the caller patches it. */
export type TensorFactory = (storage: StorageRef, fields: Omit<FileTensor, 'file'>) => FileTensor;

/** torch.<X>Storage, as named in persistent ids (torch 2.x still writes these names). */
const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool', UntypedStorage: 'uint8',
};

/** torch dtype objects (e.g. in `_rebuild_tensor_v3` metadata or user dicts) become names. */
const TORCH_DTYPE_NAMES = new Set([
  'float32', 'float', 'float16', 'half', 'bfloat16', 'float64', 'double', 'int64', 'long', 'int32', 'int',
  'int16', 'short', 'int8', 'uint8', 'bool',
]);

class StorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}

class TypedStorage {
  constructor(readonly ref: StorageRef, readonly dtype: DType) {}
}

/** torch.Tensor / torch.nn.Parameter as the class argument of _rebuild_from_type_v2. */
class TensorClass {
  constructor(readonly name: string) {}
}

/** numpy.dtype('<i8') etc.: built by REDUCE, byte order set by BUILD. */
class NumpyDtype implements PickleStateful {
  order = '|';
  constructor(readonly code: string) {}
  setState(state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.order = state[1];
  }
}

export function torchGlobals(
  file: string,
  lookupStorage: (key: string) => StorageRef,
  makeTensor: TensorFactory,
): Pick<UnpickleOptions, 'findGlobal' | 'persistentLoad'> {
  const fail = (reason: string): never => {
    throw new ModelFileError(file, reason);
  };

  const rebuildTensor = new PickleCallable('torch._utils._rebuild_tensor_v2', (args) => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, storageOffset, size, stride] = args;
    if (!(storage instanceof TypedStorage)) return fail('the checkpoint is corrupt (a tensor is not backed by a storage)');
    if (!isCount(storageOffset) || !isCountList(size) || !isCountList(stride) || size.length !== stride.length) {
      return fail(`the checkpoint is corrupt (tensor on storage data/${storage.ref.key} has an invalid size, stride or offset)`);
    }
    const itemsize = DTYPE_BYTES[storage.dtype];
    const span = spanElements(size, stride);
    const needed = (storageOffset + span) * itemsize;
    if (span > 0 && needed > storage.ref.nbytes) {
      fail(`truncated: storage data/${storage.ref.key} holds ${formatBytes(storage.ref.nbytes)} but a tensor of shape ${formatShape(size)} (strides ${formatShape(stride)}, storage offset ${storageOffset}) needs ${formatBytes(needed)}`);
    }
    return makeTensor(storage.ref, {
      dtype: storage.dtype,
      shape: Object.freeze([...size]),
      strides: Object.freeze([...stride]),
      offset: storageOffset * itemsize,
      available: Math.max(0, storage.ref.nbytes - storageOffset * itemsize),
    });
  });
  // _rebuild_parameter(data, requires_grad, backward_hooks[, state]): the data is what we need.
  const rebuildParameter = new PickleCallable('torch._utils._rebuild_parameter', (args) => args[0]);
  // torch 2.x for tensor subclasses: _rebuild_from_type_v2(func, new_type, args, state).
  const rebuildFromType = new PickleCallable('torch._tensor._rebuild_from_type_v2', (args) => {
    const [func, type, fargs] = args;
    if (!(type instanceof TensorClass)) fail('unsupported tensor subclass in the checkpoint');
    if (func !== rebuildTensor && func !== rebuildParameter) fail('unsupported tensor rebuild function in the checkpoint');
    if (!Array.isArray(fargs)) fail('the checkpoint is corrupt (tensor rebuild arguments are not a tuple)');
    return (func as PickleCallable).call(fargs as unknown[]);
  });
  const orderedDict = new PickleCallable('collections.OrderedDict', (args) => {
    const dict = new PickleDict();
    const items = args[0];
    if (Array.isArray(items)) {
      for (const pair of items) if (Array.isArray(pair) && pair.length === 2) dict.map.set(pair[0], pair[1]);
    }
    return dict;
  });
  const size = new PickleCallable('torch.Size', (args) => (Array.isArray(args[0]) ? [...(args[0] as unknown[])] : []));
  const device = new PickleCallable('torch.device', (args) => args.filter((a) => a !== null && a !== undefined).join(':'));
  const numpyDtype = new PickleCallable('numpy.dtype', (args) => new NumpyDtype(String(args[0])));
  const numpyScalar = new PickleCallable('numpy.core.multiarray.scalar', (args) => decodeNumpyScalar(args, fail));
  const codecsEncode = new PickleCallable('_codecs.encode', (args) => {
    // How protocol 2 pickles bytes: _codecs.encode(<latin-1 text>, 'latin1').
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
      return fail('unsupported object _codecs.encode in the checkpoint (only latin1 byte strings are accepted)');
    }
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  });

  const findGlobal = (module: string, name: string): unknown => {
    const key = `${module}.${name}`;
    switch (key) {
      case 'collections.OrderedDict': return orderedDict;
      case 'torch._utils._rebuild_tensor_v2': return rebuildTensor;
      case 'torch._utils._rebuild_parameter': return rebuildParameter;
      case 'torch._utils._rebuild_parameter_with_state': return rebuildParameter;
      case 'torch._tensor._rebuild_from_type_v2': return rebuildFromType;
      case 'torch._tensor.Tensor': case 'torch.Tensor': case 'torch.nn.parameter.Parameter': return new TensorClass(key);
      case 'torch.Size': return size;
      case 'torch.device': return device;
      case 'numpy.dtype': return numpyDtype;
      case 'numpy.core.multiarray.scalar': case 'numpy._core.multiarray.scalar': return numpyScalar;
      case '_codecs.encode': return codecsEncode;
    }
    if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) return new StorageType(key, STORAGE_DTYPES[name]!);
    if (module === 'torch' && TORCH_DTYPE_NAMES.has(name)) return key;
    return undefined;
  };

  const persistentLoad = (pid: unknown): unknown => {
    // ('storage', storage_type, key, location, numel)
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return fail('the checkpoint is corrupt (unknown persistent id in data.pkl)');
    const [, type, key, , numel] = pid as unknown[];
    if (!(type instanceof StorageType) || typeof key !== 'string' || !isCount(numel)) {
      return fail('the checkpoint is corrupt (malformed storage reference in data.pkl)');
    }
    const ref = lookupStorage(key);
    const nbytes = numel * DTYPE_BYTES[type.dtype];
    if (ref.nbytes < nbytes) {
      fail(`truncated: storage data/${key} holds ${formatBytes(ref.nbytes)} but data.pkl says it has ${numel.toLocaleString('en-US')} ${type.dtype} elements (${formatBytes(nbytes)})`);
    }
    return new TypedStorage(ref, type.dtype);
  };

  return { findGlobal, persistentLoad };
}

/** numpy.core.multiarray.scalar(dtype, raw bytes) -> number / bigint / boolean. */
function decodeNumpyScalar(args: unknown[], fail: (reason: string) => never): unknown {
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) return fail('the checkpoint is corrupt (malformed numpy scalar)');
  if (dtype.order === '>') return fail(`unsupported big-endian numpy scalar (${dtype.code}) in the checkpoint`);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const sizeOk = (n: number) => raw.byteLength === n || fail(`the checkpoint is corrupt (numpy ${dtype.code} scalar has ${raw.byteLength} bytes)`);
  switch (dtype.code) {
    case 'f8': sizeOk(8); return v.getFloat64(0, true);
    case 'f4': sizeOk(4); return v.getFloat32(0, true);
    case 'f2': sizeOk(2); return float16BitsToFloat32(v.getUint16(0, true));
    case 'i8': sizeOk(8); return toInt(v.getBigInt64(0, true));
    case 'u8': sizeOk(8); return toInt(v.getBigUint64(0, true));
    case 'i4': sizeOk(4); return v.getInt32(0, true);
    case 'u4': sizeOk(4); return v.getUint32(0, true);
    case 'i2': sizeOk(2); return v.getInt16(0, true);
    case 'u2': sizeOk(2); return v.getUint16(0, true);
    case 'i1': sizeOk(1); return v.getInt8(0);
    case 'u1': sizeOk(1); return v.getUint8(0);
    case 'b1': sizeOk(1); return v.getUint8(0) !== 0;
    default: return fail(`unsupported numpy scalar type ${dtype.code} in the checkpoint`);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isCountList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isCount);
}
