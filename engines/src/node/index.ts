/**
 * @hplb/engines/node: safetensors reading and streaming writing, and `applyLayout`, the checkpoint rewrite for an
 * engine layout (Node only: it reads and writes files).
 */
export * from '../index.ts';
export * from './safetensors.ts';
export * from './apply.ts';
export { DEFAULT_CHUNK_BYTES, OUTPUT_MARKER, readRegularJson, readRegularText } from './files.ts';
