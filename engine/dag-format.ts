/** Renders a graph as text, Mermaid or Graphviz dot (`pipe dag --format`). */
import type { Graph } from './graph.js';
import { kindOf } from './planner.js';
import { unreachable } from './result.js';

/** The formats `pipe dag` prints. */
export type DagFormat = 'text' | 'mermaid' | 'dot';

const quote = (s: string): string => JSON.stringify(s);

/**
 * text: one line per stage in run order with its kind and needs;
 * mermaid: a `flowchart LR`; dot: a `digraph`. Edges go from a needed stage to
 * the stage that needs it.
 */
export function formatDag(graph: Graph, format: DagFormat): string {
  const names = graph.order;
  switch (format) {
    case 'text': {
      const w = Math.max(...names.map((n) => n.length));
      const kw = Math.max(...names.map((n) => kindOf(graph.stages.get(n)!).length));
      return names
        .map((n) => {
          const s = graph.stages.get(n)!;
          const needs = s.needs.length ? `  <- ${s.needs.join(', ')}` : '';
          return `${n.padEnd(w)}  ${kindOf(s).padEnd(kw)}${needs}`.trimEnd();
        })
        .join('\n');
    }
    case 'mermaid': {
      const id = (n: string): string => n.replace(/[^A-Za-z0-9_]/g, '_');
      const lines = ['flowchart LR'];
      for (const n of names) lines.push(`  ${id(n)}[${quote(`${n} (${kindOf(graph.stages.get(n)!)})`)}]`);
      for (const n of names) for (const m of graph.stages.get(n)!.needs) lines.push(`  ${id(m)} --> ${id(n)}`);
      return lines.join('\n');
    }
    case 'dot': {
      const lines = ['digraph pipe {', '  rankdir=LR;', '  node [shape=box];'];
      for (const n of names) lines.push(`  ${quote(n)} [label=${quote(`${n}\n${kindOf(graph.stages.get(n)!)}`)}];`);
      for (const n of names) for (const m of graph.stages.get(n)!.needs) lines.push(`  ${quote(m)} -> ${quote(n)};`);
      lines.push('}');
      return lines.join('\n');
    }
    default:
      return unreachable(format);
  }
}
