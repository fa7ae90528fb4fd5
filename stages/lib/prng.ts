/**
 * The stages' seeded random source. The generator lives in engine/prng.ts so
 * that the engine's sweep draws its random points from the same one (the
 * engine may not import stages/).
 */
export { makeRng, subSeed, type Rng } from '../../engine/prng.js';
