import type { TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';
import type { AssemblyInput } from '../../server/assemblies/assemblies.schemas.ts';

/** h/evote: a hybrid assembly on 19 Dec 2026, 18:00, invited, with items to vote on. */
export const HYBRID: AssemblyInput = {
  title: 'Hybride MV 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 150,
  format: 'hybrid', location: 'Kaiserpfalz Goslar', participationInfo: 'Online per Videokonferenz, Abstimmung im Portal.',
  copyAllContacts: false, onlineLink: 'https://meet.example/mv', onlineMeetingId: '1', onlineAccessCode: 'x',
};
export const DURING = '2026-12-19T17:05:00Z';

export interface BallotWorld {
  id: number;
  items: { resolution: number; election: number; bylaws: number };
  org: Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f', number>;
  board: Browser;
  /** A's representative in the portal */
  portalA: Browser;
}

/**
 * A (online) holds the proxies of C and D; F gave one to B and withdrew it before the ballot;
 * B and E are in the room. Votes present: A, C, D, B, E = 5.
 */
export async function ballotWorld(env: TestEnv, emailPrefix = ''): Promise<BallotWorld> {
  const cats = await makeCategories(env.ctx);
  await makeUser(env.ctx, `${emailPrefix}board@test.example`, ['board']);
  const org = {
    a: await makeOrg(env.ctx, { name: 'Aurum Chemie GmbH', categoryId: cats.company, repEmail: `${emailPrefix}a@a.example` }),
    b: await makeOrg(env.ctx, { name: 'Brocken Labor GmbH', categoryId: cats.company, repEmail: `${emailPrefix}b@b.example` }),
    c: await makeOrg(env.ctx, { name: 'Clausthal Polymere GmbH', categoryId: cats.company, repEmail: `${emailPrefix}c@c.example` }),
    d: await makeOrg(env.ctx, { name: 'Dorste Pigmente GmbH', categoryId: cats.company, repEmail: `${emailPrefix}d@d.example` }),
    e: await makeOrg(env.ctx, { name: 'Elbingerode Kalk AG', categoryId: cats.company, repEmail: `${emailPrefix}e@e.example` }),
    f: await makeOrg(env.ctx, { name: 'Fallstein Forschung GmbH', categoryId: cats.research, repEmail: `${emailPrefix}f@f.example` }),
  };
  const id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, HYBRID);
  const s = env.ctx.assemblies.assembly;
  await s.addAgendaItem(TEST_ACTOR, id, { title: 'Entlastung des Vorstands', description: '', kind: 'resolution', proposedText: '' });
  await s.addAgendaItem(TEST_ACTOR, id, { title: 'Wahl des Vorstands', description: '', kind: 'election', proposedText: '' });
  await s.addAgendaItem(TEST_ACTOR, id, { title: 'Satzungsänderung § 5', description: '', kind: 'bylaws_change', proposedText: 'Neu: …' });
  const agenda = await s.agenda(id);
  const board = new Browser(env.app);
  await board.login(`${emailPrefix}board@test.example`, PASSWORD);
  await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
  await env.ctx.assemblies.jobs.idle(id);
  const invs = await env.ctx.assemblies.sending.invitations(id);
  const inv = (o: number) => invs.find((i) => i.organisationId === o)!;
  await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, inv(org.c), org.a, 'portal');
  await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, inv(org.d), org.a, 'portal');
  await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, inv(org.f), org.b, 'portal');
  await env.ctx.assemblies.answers.withdrawProxy(TEST_ACTOR, inv(org.f));
  env.clock.set(DURING);
  await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, org.a, 'in', 'Anna Aurum', 'online');
  await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, org.b, 'in', 'Bernd Brocken', 'room');
  await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, org.e, 'in', 'Eva Elbingerode', 'room');
  const userId = await makeUser(env.ctx, `${emailPrefix}member.a@test.example`, ['member']);
  await env.db('contacts').where({ organisation_id: org.a, is_representative: true }).update({ user_id: userId });
  const portalA = new Browser(env.app);
  await portalA.login(`${emailPrefix}member.a@test.example`, PASSWORD);
  return { id, items: { resolution: agenda[0].id, election: agenda[1].id, bylaws: agenda[2].id }, org, board, portalA };
}
