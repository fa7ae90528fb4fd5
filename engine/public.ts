/**
 * The package entry (`import { defineStage } from 'pipe-ml'`): what a user's
 * stage module needs to be written against pipe, and nothing of the engine's
 * internals. A stage module's default export is `defineStage({ ... })`; it may
 * be JavaScript or TypeScript (see engine/load-module.ts).
 *
 * ```ts
 * import { defineStage, readTensors } from 'pipe-ml';
 * export default defineStage({
 *   description: 'count training images',
 *   artifacts: () => ['count.json'],
 *   async run(ctx) { ... write `${ctx.outDir}/count.json` ... },
 * });
 * ```
 */
export { defineStage } from './stage-api.js';
export type { ParamSchema, ParamsSchema, ParamValue, Params, Progress, StageContext, StageKind } from './stage-api.js';
export { readTensors, writeTensors, encodeTensors, decodeTensors } from '../cache/tensors.js';
export type { NamedTensor, TensorFile } from '../cache/tensors.js';
