/** Gapless counters: see counters.repository.ts (the only queries of `counters`). */
export { currentValue, nextValue, raiseTo, setValue } from './counters.repository.ts';
