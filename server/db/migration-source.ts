import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

interface Migration { up(knex: Knex): Promise<void>; down?(knex: Knex): Promise<void> }

/** Loads the TypeScript migrations in migrations/ in name (timestamp) order. */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return fs.readdirSync(dir).filter((f) => /^\d{14}_.+\.ts$/.test(f)).sort();
  },
  getMigrationName(name) {
    return name.replace(/\.ts$/, '');
  },
  async getMigration(name) {
    const mod = (await import(pathToFileURL(path.join(dir, name)).href)) as Migration; // why: every file in migrations/ exports up and down (the knex migration contract)
    return { up: mod.up, down: mod.down ?? (async () => {}) };
  },
};
