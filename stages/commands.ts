/**
 * CLI commands that belong to the nerve workload rather than the engine; the
 * composition root (bin/main.ts) adds them to `pipe`.
 */
import type { ExtraCommand } from '../engine/cli.js';

/** `pipe score PRED TRUTH`: Kaggle mean Dice between two RLE CSVs. */
export const scoreCommand: ExtraCommand = {
  usage: 'score PRED TRUTH',
  summary: 'Kaggle mean Dice between two RLE CSVs (TRUTH may be train_masks.csv)',
  async run(args, io) {
    if (args.length !== 2) {
      io.stderr.write('pipe: `pipe score` takes two files: PRED.csv TRUTH.csv\nRun `pipe --help` for usage.\n');
      if (io.json) io.stdout.write(JSON.stringify({ ok: false, error: { reason: 'usage', message: '`pipe score` takes two files: PRED.csv TRUTH.csv' } }, null, 2) + '\n');
      return 2;
    }
    const { scoreFiles } = await import('./lib/score.js');
    const r = await scoreFiles(args[0] as string, args[1] as string);
    if (!r.ok) {
      if (io.json) io.stdout.write(JSON.stringify({ ok: false, error: { reason: 'usage', message: r.message } }, null, 2) + '\n');
      io.stderr.write(`pipe score: ${r.message}\n`);
      return 2;
    }
    if (io.json) io.stdout.write(JSON.stringify({ ok: true, score: r.score, images: r.images }, null, 2) + '\n');
    else io.stdout.write(`mean Dice ${r.score.toFixed(5)} over ${r.images} images\n`);
    return 0;
  },
};
