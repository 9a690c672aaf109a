import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import madge from 'madge';

/**
 * No import circle in server/ (issue 9): madge reads every module's imports (type-only imports
 * included, `.ts` extensions resolved through tsconfig.json) and lists the circles.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('no import cycles in server/', function () {
  this.timeout(60_000);

  it('madge finds no circular import', async () => {
    const graph = await madge(path.join(root, 'server'), {
      baseDir: root,
      fileExtensions: ['ts'],
      tsConfig: path.join(root, 'tsconfig.json'),
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    });
    const modules = graph.obj();
    // the graph is real: the entry resolves its .ts imports (an unresolved import would be dropped silently)
    expect(Object.keys(modules).length).to.be.above(50);
    expect(modules['server/main.ts']).to.include('server/context.ts');
    expect(modules['server/cli/main.ts']).to.include('server/cli/command.ts');
    expect(graph.warnings().skipped, 'imports madge could not resolve').to.deep.equal([]);
    const circles = graph.circular();
    expect(circles.map((c) => c.join(' → ')), `${circles.length} import circle(s)`).to.deep.equal([]);
  });
});
