/**
 * The composition root: hands the built-in stage registry and the commands
 * that belong to the nerve workload (`pipe score`) to the engine's CLI. The
 * engine never imports stages/; this file is where the two meet.
 */
import { runProcess } from '../engine/main.js';
import { builtinKinds } from '../stages/index.js';
import { scoreCommand } from '../stages/commands.js';

runProcess({ registry: builtinKinds, commands: { score: scoreCommand } });
