import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { MembersService } from '../members/members.service.ts';
import type { UsersService } from '../auth/users.service.ts';
import type { AssemblyService } from '../assemblies/assembly.service.ts';
import type { AgendaItem, Assembly } from '../assemblies/assemblies.model.ts';
import { AppError, NotFoundError } from '../errors.ts';
import { tFor, isLocale } from '../i18n/i18n.ts';
import * as repo from './demands.repository.ts';
import type { StoredDemand } from './demands.repository.ts';
import type { DemandInput, LinkInput, RejectInput } from './demands.schemas.ts';
import { progress, thresholdWords, type Progress, type ThresholdRule } from './threshold.ts';

/** A rule of the demand's workflow refused the action; `code` names the message (demands.errors.<code>). */
export class DemandRuleError extends AppError {
  constructor(code: string) {
    super(422, code, code);
  }
}

/** Where a demand stands for people: collecting, reached (the board must act), linked (assembly not yet convened), fulfilled, rejected. */
export type DemandState = 'collecting' | 'reached' | 'linked' | 'fulfilled' | 'rejected';

export interface Supporter {
  organisationId: number;
  name: string;
  memberNo: string;
  label: string;
  since: string;
  withdrawnAt: string | null;
  /** still a member today (a supporter that has left no longer counts) */
  member: boolean;
}

export interface Demand extends StoredDemand {
  organisationName: string;
  memberNo: string;
  state: DemandState;
  progress: Progress;
  /** the board must act: reached and not convened, or linked to an assembly that is not (or no longer) convened */
  needsBoard: boolean;
  assembly?: Pick<Assembly, 'id' | 'title' | 'startsAt' | 'status'>;
  agendaItems: Pick<AgendaItem, 'id' | 'position' | 'title'>[];
}

interface Deps {
  db: Knex;
  clock: Clock;
  config: Config;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  users: UsersService;
  assemblies: AssemblyService;
}

/**
 * The minority's demand for a general assembly (§ 37 BGB). A member organisation demands an
 * assembly through the portal, in Textform, stating purpose and reasons; other member
 * organisations support it (one support per organisation: the threshold counts members). The
 * threshold is a setting (the BGB's tenth part by default) and is counted against today's
 * members. When it is first reached the board users are told by e-mail; the board ties the
 * demand to an assembly and its agenda items ("erfüllt" once that assembly is convened) or
 * records a rejection with its reason (then § 37 Abs. 2 BGB: the local court may authorise the
 * members to convene). Every step is audited.
 */
export class DemandsService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  async rule(): Promise<ThresholdRule> {
    const r = await this.d.settings.rules();
    return { minorityDemandBasis: r.minorityDemandBasis, minorityDemandPercent: r.minorityDemandPercent, minorityDemandCount: r.minorityDemandCount };
  }

  /** The threshold rule in words (i18n key and values). */
  async ruleWords(): Promise<{ key: string; values: Record<string, number> }> {
    return thresholdWords(await this.rule());
  }

  private async requireMember(organisationId: number): Promise<void> {
    if (!(await this.d.members.membersAmong([organisationId])).has(organisationId)) throw new DemandRuleError('not_member');
  }

  /** A member organisation's demand; the organisation is its first supporter. */
  async create(actor: Actor, organisationId: number, contactId: number | null, input: DemandInput): Promise<number> {
    await this.requireMember(organisationId);
    const at = this.now();
    const id = await this.d.db.transaction(async (trx) => {
      const id = await repo.insertDemand(trx, { organisationId, contactId, userId: actor.userId, actorLabel: actor.label, purpose: input.purpose, reasons: input.reasons, createdAt: at });
      await repo.addSupport(trx, { demandId: id, organisationId, contactId, userId: actor.userId, actorLabel: actor.label, at });
      await this.d.audit.record(trx, actor, 'demand.created', 'minority_demand', id, null, { organisationId, purpose: input.purpose, reasons: input.reasons });
      return id;
    });
    await this.checkReached(id);
    return id;
  }

  private async openDemand(id: number, q: Knex | Knex.Transaction = this.d.db): Promise<StoredDemand> {
    const demand = await repo.demandById(q, id);
    if (!demand) throw new NotFoundError();
    if (demand.status !== 'open') throw new DemandRuleError('not_open');
    return demand;
  }

  /** The organisation supports an open demand (once; a second contact of it is told it already does). */
  async support(actor: Actor, organisationId: number, contactId: number | null, id: number): Promise<void> {
    await this.openDemand(id);
    await this.requireMember(organisationId);
    await this.d.db.transaction(async (trx) => {
      await this.openDemand(id, trx);
      if (!(await repo.addSupport(trx, { demandId: id, organisationId, contactId, userId: actor.userId, actorLabel: actor.label, at: this.now() }))) throw new DemandRuleError('already_supported');
      await this.d.audit.record(trx, actor, 'demand.supported', 'minority_demand', id, null, { organisationId });
    });
    await this.checkReached(id);
  }

  /** The organisation withdraws its support while the demand is open. */
  async withdraw(actor: Actor, organisationId: number, id: number): Promise<void> {
    await this.openDemand(id);
    await this.d.db.transaction(async (trx) => {
      await this.openDemand(id, trx);
      if (!(await repo.withdrawSupport(trx, id, organisationId, this.now()))) throw new DemandRuleError('not_supported');
      await this.d.audit.record(trx, actor, 'demand.support_withdrawn', 'minority_demand', id, { organisationId }, null);
    });
  }

  /** Where each demand stands today (members now, supporters that are members now). */
  private async progressOf(list: StoredDemand[]): Promise<{ rule: ThresholdRule; members: number; supports: repo.StoredSupport[]; current: Set<number>; byDemand: Map<number, Progress> }> {
    const rule = await this.rule();
    const members = await this.d.members.countActive();
    const supports = await repo.supportsOf(this.d.db, list.map((x) => x.id));
    const current = await this.d.members.membersAmong(supports.map((s) => s.organisationId));
    const byDemand = new Map<number, Progress>();
    for (const demand of list) {
      const n = supports.filter((s) => s.demandId === demand.id && !s.withdrawnAt && current.has(s.organisationId)).length;
      byDemand.set(demand.id, progress(members, n, rule));
    }
    return { rule, members, supports, current, byDemand };
  }

  /**
   * Tells the board once, when an open demand first has enough supporters. Called after every
   * support and whenever the demands are listed (members joining and leaving move the threshold
   * without a support, so a list of the board or the portal may be the first to see it).
   */
  async checkReached(id: number): Promise<boolean> {
    const demand = await repo.demandById(this.d.db, id);
    if (!demand || demand.status !== 'open' || demand.reachedAt) return false;
    const p = (await this.progressOf([demand])).byDemand.get(id)!;
    if (!p.reached) return false;
    const [org] = await this.d.members.getMany([demand.organisationId]);
    const boardUsers = (await this.d.users.list({ role: 'board' })).filter((u) => !u.disabled);
    const association = await this.d.settings.association();
    return this.d.db.transaction(async (trx) => {
      if (!(await repo.markReached(trx, id, this.now()))) return false;
      await this.d.audit.record(trx, { userId: null, label: 'system' }, 'demand.threshold_reached', 'minority_demand', id, null, { members: p.members, required: p.required, supporters: p.supporters, notified: boardUsers.length });
      for (const u of boardUsers) {
        const locale = isLocale(u.locale) ? u.locale : 'de';
        const t = tFor(locale);
        await this.d.outbox.enqueue(trx, {
          template: 'demand_threshold_reached',
          locale,
          to: u.email,
          related: { type: 'minority_demand', id },
          content: {
            subject: t('demands.mail.reached.subject', { purpose: demand.purpose }),
            paragraphs: [
              t('demands.mail.reached.intro', { organisation: org?.legalName ?? '', memberNo: org?.memberNo ?? '', purpose: demand.purpose }),
              t('demands.mail.reached.count', { supporters: p.supporters, members: p.members, required: p.required }),
              t('demands.mail.reached.duty'),
            ],
            action: { label: t('demands.mail.reached.action'), url: `${this.d.config.baseUrl}/board/demands/${id}` },
            signature: association.name,
          },
        });
      }
      return true;
    });
  }

  private async checkAllOpen(list: StoredDemand[]): Promise<boolean> {
    let any = false;
    for (const x of list) if (x.status === 'open' && !x.reachedAt) any = (await this.checkReached(x.id)) || any;
    return any;
  }

  private async view(list: StoredDemand[]): Promise<{ demands: Demand[]; supports: repo.StoredSupport[]; current: Set<number> }> {
    const { byDemand, supports, current } = await this.progressOf(list);
    const orgs = new Map((await this.d.members.getMany(list.map((x) => x.organisationId))).map((o) => [o.id, o]));
    const out: Demand[] = [];
    for (const x of list) {
      const p = byDemand.get(x.id)!;
      let assembly: Demand['assembly'];
      let agendaItems: Demand['agendaItems'] = [];
      if (x.assemblyId) {
        const a = await this.d.assemblies.find(x.assemblyId);
        if (a) {
          assembly = { id: a.id, title: a.title, startsAt: a.startsAt, status: a.status };
          agendaItems = (await this.d.assemblies.agenda(a.id)).filter((i) => x.agendaItemIds.includes(i.id)).map((i) => ({ id: i.id, position: i.position, title: i.title }));
        }
      }
      const convened = !!assembly && assembly.status === 'invited' && agendaItems.length > 0;
      const state: DemandState = x.status === 'rejected' ? 'rejected' : x.status === 'linked' ? (convened ? 'fulfilled' : 'linked') : p.reached ? 'reached' : 'collecting';
      const o = orgs.get(x.organisationId);
      out.push({
        ...x, organisationName: o?.legalName ?? '', memberNo: o?.memberNo ?? '', state, progress: p,
        needsBoard: state === 'reached' || state === 'linked', assembly, agendaItems,
      });
    }
    return { demands: out, supports, current };
  }

  /** The board's list: every demand, newest first, with where it stands today. */
  async boardList(): Promise<Demand[]> {
    let list = await repo.demands(this.d.db);
    if (await this.checkAllOpen(list)) list = await repo.demands(this.d.db);
    return (await this.view(list)).demands;
  }

  /** The demands the board must act on (for the assemblies page): reached, or linked to an assembly not yet convened. */
  async pendingForBoard(): Promise<Demand[]> {
    let list = await repo.demands(this.d.db, ['open', 'linked']);
    if (!list.length) return [];
    if (await this.checkAllOpen(list)) list = await repo.demands(this.d.db, ['open', 'linked']);
    return (await this.view(list)).demands.filter((x) => x.needsBoard);
  }

  /** One demand with its supporters (withdrawn ones and those that have left marked). */
  async detail(id: number): Promise<{ demand: Demand; supporters: Supporter[] }> {
    await this.checkReached(id);
    const stored = await repo.demandById(this.d.db, id);
    if (!stored) throw new NotFoundError();
    const { demands, supports, current } = await this.view([stored]);
    const orgs = new Map((await this.d.members.getMany(supports.map((s) => s.organisationId))).map((o) => [o.id, o]));
    const supporters = supports.map((s) => ({
      organisationId: s.organisationId, name: orgs.get(s.organisationId)?.legalName ?? '', memberNo: orgs.get(s.organisationId)?.memberNo ?? '',
      label: s.actorLabel, since: s.createdAt, withdrawnAt: s.withdrawnAt, member: current.has(s.organisationId),
    }));
    return { demand: demands[0], supporters };
  }

  /** The portal's list: open demands (and this organisation's own decided ones), with whether the organisation supports each. */
  async portalList(organisationId: number): Promise<(Demand & { supported: boolean; own: boolean })[]> {
    let list = (await repo.demands(this.d.db)).filter((x) => x.status === 'open' || x.organisationId === organisationId);
    if (await this.checkAllOpen(list)) list = (await repo.demands(this.d.db)).filter((x) => x.status === 'open' || x.organisationId === organisationId);
    const { demands, supports } = await this.view(list);
    return demands.map((x) => ({
      ...x, own: x.organisationId === organisationId,
      supported: supports.some((s) => s.demandId === x.id && s.organisationId === organisationId && !s.withdrawnAt),
    }));
  }

  /** The assemblies the board may tie a demand to (not cancelled), each with its agenda. */
  async linkChoices(): Promise<{ assembly: Assembly; agenda: AgendaItem[] }[]> {
    const list = (await this.d.assemblies.list()).filter((a) => a.status !== 'cancelled');
    return Promise.all(list.map(async (assembly) => ({ assembly, agenda: await this.d.assemblies.agenda(assembly.id) })));
  }

  /** The board ties the demand to an assembly and the agenda items that carry its purpose. */
  async link(actor: Actor, id: number, input: LinkInput): Promise<void> {
    const assembly = await this.d.assemblies.find(input.assemblyId);
    if (!assembly) throw new DemandRuleError('assembly_unknown');
    if (assembly.status === 'cancelled') throw new DemandRuleError('assembly_cancelled');
    const agenda = await this.d.assemblies.agenda(assembly.id);
    const items = [...new Set(input.items)];
    if (!items.every((i) => agenda.some((x) => x.id === i))) throw new DemandRuleError('items_unknown');
    await this.d.db.transaction(async (trx) => {
      const before = await repo.demandById(trx, id, true);
      if (!before) throw new NotFoundError();
      if (before.status === 'rejected') throw new DemandRuleError('not_open');
      if (!(await repo.decide(trx, id, input.version, { status: 'linked', assemblyId: assembly.id, agendaItemIds: items, rejectionReason: null, decidedBy: actor.userId, decidedByLabel: actor.label, decidedAt: this.now() }))) {
        throw new DemandRuleError('changed');
      }
      await this.d.audit.record(trx, actor, 'demand.linked', 'minority_demand', id, { status: before.status, assemblyId: before.assemblyId, agendaItemIds: before.agendaItemIds }, { status: 'linked', assemblyId: assembly.id, agendaItemIds: items });
    });
  }

  /** The board records that it does not convene the assembly, with its reason (§ 37 Abs. 2 BGB then lets the members go to the local court). */
  async reject(actor: Actor, id: number, input: RejectInput): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const before = await repo.demandById(trx, id, true);
      if (!before) throw new NotFoundError();
      if (before.status !== 'open') throw new DemandRuleError('not_open');
      if (!(await repo.decide(trx, id, input.version, { status: 'rejected', assemblyId: null, agendaItemIds: null, rejectionReason: input.reason, decidedBy: actor.userId, decidedByLabel: actor.label, decidedAt: this.now() }))) {
        throw new DemandRuleError('changed');
      }
      await this.d.audit.record(trx, actor, 'demand.rejected', 'minority_demand', id, { status: before.status }, { status: 'rejected', reason: input.reason });
    });
  }
}
