import { expect } from 'chai';
import type { Knex } from 'knex';
import { createDb, migrate } from '../../server/db/knex.ts';
import { formatInvoiceNumber, nextInvoiceNumber } from '../../server/dues/numbering.ts';

describe('numbering: gapless invoice numbers per year', () => {
  let db: Knex;
  before(async () => {
    db = createDb({ client: 'better-sqlite3', filename: ':memory:' });
    await migrate(db);
  });
  after(async () => db.destroy());

  it('formats as YEAR-NNNN', () => {
    expect(formatInvoiceNumber(2027, 1)).to.equal('2027-0001');
    expect(formatInvoiceNumber(2027, 12345)).to.equal('2027-12345');
  });

  it('hands out 50 numbers requested at once without a gap or a duplicate, each year on its own', async () => {
    const got = await Promise.all(Array.from({ length: 50 }, () => db.transaction((trx) => nextInvoiceNumber(trx, 2027))));
    expect(new Set(got).size).to.equal(50);
    expect([...got].sort()).to.deep.equal(Array.from({ length: 50 }, (_, i) => formatInvoiceNumber(2027, i + 1)));
    expect(await db.transaction((trx) => nextInvoiceNumber(trx, 2028))).to.equal('2028-0001');
  });

  it('gives a number back when the issuing transaction rolls back, so none is skipped', async () => {
    await db.transaction(async (trx) => {
      expect(await nextInvoiceNumber(trx, 2029)).to.equal('2029-0001');
    });
    let taken = '';
    await db.transaction(async (trx) => {
      taken = await nextInvoiceNumber(trx, 2029);
      throw new Error('crash after taking the number');
    }).catch(() => undefined);
    expect(taken).to.equal('2029-0002');
    expect(await db.transaction((trx) => nextInvoiceNumber(trx, 2029))).to.equal('2029-0002');
  });
});
