import type { Context } from '../server/context.ts';

/** Fills the demo association into an empty database (written by the CLI/seed work). */
export async function seedDemoIfEmpty(_ctx: Context, _print: (line: string) => void): Promise<boolean> {
  return false;
}
