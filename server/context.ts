import type { Knex } from 'knex';
import type { DirectDebitMandate } from './einvoice/model.ts';
import type { Config } from './config.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { AuditService } from './audit/audit.service.ts';
import { createChangeFeed, type ChangeFeed } from './db/change-feed.ts';
import { contactLinksOfUsers } from './members/members.repository.ts';
import { TokenService } from './auth/tokens.ts';
import { UsersService } from './auth/users.service.ts';
import { AccessLinkService } from './auth/access-links.service.ts';
import { SettingsService } from './settings/settings.service.ts';
import { Outbox } from './mail/outbox.service.ts';
import { fileTransport, smtpTransport, type MailTransport } from './mail/transport.ts';
import { ApplicationsService } from './applications/applications.service.ts';
import { PortalService } from './portal/portal.service.ts';
import { ApplicationRecordsService } from './applications/application-records.service.ts';
import { MembersService } from './members/members.service.ts';
import { ImportService } from './members/import.service.ts';
import { ExportService } from './members/export.service.ts';
import { ConsentRecorder, GdprService } from './members/gdpr.service.ts';
import type { PaymentGateway } from './stripe/gateway.ts';
import { createGateway } from './stripe/stripe-gateway.ts';
import { JobsService } from './jobs/jobs.service.ts';
import { DuesService } from './dues/dues.service.ts';
import { DuesRuns } from './dues/dues-run.job.ts';
import { StripeCustomerUpdates } from './dues/stripe-customer.job.ts'; // h/money2
import { StripeDebitClosing } from './dues/stripe-debit.job.ts'; // h/debit
import { StripeSyncService } from './dues/stripe-sync.service.ts';
import { PaymentsService } from './dues/payments.service.ts';
import { RemindersService } from './dues/reminders.service.ts';
import { AssembliesRepository } from './assemblies/assemblies.repository.ts';
import { InvitationsRepository } from './assemblies/invitations.repository.ts';
import { AnswersRepository } from './assemblies/answers.repository.ts';
import { DayRepository } from './assemblies/day.repository.ts';
import { DocumentsRepository } from './assemblies/documents.repository.ts';
import { AssemblyService } from './assemblies/assembly.service.ts';
import { AttachmentsService } from './assemblies/attachments.service.ts';
import { DayService } from './assemblies/day.service.ts';
import { InvitationJobs } from './assemblies/invitations.job.ts';
import { SendingService } from './assemblies/sending.service.ts';
import { AnswersService } from './assemblies/answers.service.ts';
import { MinutesService } from './assemblies/minutes.service.ts';
// h/written: resolutions without an assembly (§ 32 Abs. 3 BGB)
import { WrittenRepository } from './assemblies/written.repository.ts';
import { WrittenResolutionsService } from './assemblies/written.service.ts';
// h/evote: electronic ballots in an assembly
import { BallotsRepository } from './assemblies/ballots.repository.ts';
import { BallotsService } from './assemblies/ballots.service.ts';

/** The general assembly, one service per part of the work (see server/assemblies/). */
export interface Assemblies {
  /** The assembly and its agenda, the roll of voting members, and what the board's pages may offer. */
  assembly: AssemblyService;
  /** Invitation, update, supplement, cancellation, reminder, resend, letters, the delivery log. */
  sending: SendingService;
  /** Personal links, RSVP, proxies, motions. */
  answers: AnswersService;
  /** Check-in, quorum, results. */
  day: DayService;
  minutes: MinutesService;
  attachments: AttachmentsService;
  /** The persisted mail jobs behind sending and minutes. */
  jobs: InvitationJobs;
  /** h/written: resolutions without an assembly (§ 32 Abs. 3 BGB). */
  written: WrittenResolutionsService;
  /** h/evote: electronic ballots: open, vote (portal, link, tablet, show of hands), close, into the results and minutes. */
  ballots: BallotsService;
}
import { AdminService } from './admin/admin.service.ts';
import { RetentionService } from './retention/retention.service.ts';
// h/demand: the minority's demand for an assembly (§ 37 BGB)
import { DemandsService } from './demands/demands.service.ts';
// h/lead2: the network's public directory
import { DirectoryService } from './directory/directory.service.ts';
// h/sepa: SEPA direct debits (mandates, collections, returns)
import { SepaService } from './sepa/sepa.service.ts';
// h/bank: the association's bank account: statement import and matching (issue 12)
import { BankService } from './bank/bank.service.ts';
// h/gdpr: the modules' parts of the GDPR export and anonymisation
import { AssemblyPersonalData } from './assemblies/personal-data.service.ts';
import { DemandPersonalData } from './demands/personal-data.service.ts';
import { PortalPersonalData } from './portal/personal-data.service.ts';
import { deleteSessionsOfUsers } from './web/sessions.repository.ts';
// h/groups: working groups (Arbeitsgruppen)
import { GroupsService } from './groups/groups.service.ts';

/** Everything a request handler or a command may use, built in one place. */
export interface Context {
  config: Config;
  db: Knex;
  clock: Clock;
  log: Logger;
  /** Tells the caches of every process about changes (LISTEN/NOTIFY on PostgreSQL); started by the app. */
  changes: ChangeFeed;
  audit: AuditService;
  tokens: TokenService;
  users: UsersService;
  accessLinks: AccessLinkService;
  settings: SettingsService;
  outbox: Outbox;
  members: MembersService;
  memberImport: ImportService;
  memberExports: ExportService;
  gdpr: GdprService;
  applications: ApplicationsService;
  /** A member's application data for the GDPR export and anonymisation. */
  applicationRecords: ApplicationRecordsService;
  /** The member portal: a contact's own organisation, its contacts and change requests. */
  portal: PortalService;
  /** Stripe, or the disabled gateway when STRIPE_SECRET_KEY is unset. */
  gateway: PaymentGateway;
  jobs: JobsService;
  /** Our invoices on Stripe and its webhook events; with Stripe off its gateway is the disabled one and it does nothing. */
  stripe: StripeSyncService;
  /** Dues invoices (with the Stripe sync handed in). */
  dues: DuesService;
  duesRuns: DuesRuns;
  payments: PaymentsService;
  reminders: RemindersService;
  assemblies: Assemblies;
  admin: AdminService;
  /** The retention run: every retention period of the settings, daily and on demand. */
  retention: RetentionService;
  // h/demand: the minority's demand for an assembly (§ 37 BGB)
  demands: DemandsService;
  // h/lead2: the network's public directory (profiles, review, enquiries)
  directory: DirectoryService;
  // h/sepa: SEPA direct debits (mandates, collections, returns)
  sepa: SepaService;
  // h/bank: statements in, matched to invoices, booked through the payments; `onReturn` (SEPA returns) is wired here at merge
  bank: BankService;
  // h/groups: working groups, their members, meetings (with .ics and RSVP links), documents and messages
  groups: GroupsService;
}

export function createContext(deps: { config: Config; db: Knex; clock: Clock; log: Logger; transport?: MailTransport; gateway?: PaymentGateway }): Context {
  const { config, db, clock, log } = deps;
  const changes = createChangeFeed(db, config.database, log);
  const audit = new AuditService(db, clock);
  const tokens = new TokenService(db, clock);
  const users = new UsersService({ db, clock, audit, changes, contacts: { linksOf: (ids, q) => contactLinksOfUsers(q ?? db, ids) } });
  const settings = new SettingsService(db, clock, audit, changes);
  const transport = deps.transport ?? (config.smtpUrl ? smtpTransport(config.smtpUrl, { pool: true }) : fileTransport(config.mailDir));
  const domain = new URL(config.baseUrl).hostname || 'localhost';
  const outbox = new Outbox(db, clock, transport, async () => {
    if (config.mailFrom) return config.mailFrom;
    const a = await settings.association();
    return `"${a.name.replace(/"/g, '')}" <${a.contactEmail}>`;
  }, log, domain);
  const accessLinks = new AccessLinkService({ db, tokens, outbox, settings, audit, users, config });
  const members = new MembersService({ db, clock, audit, tokens, outbox, settings, users, config, changes });
  const memberImport = new ImportService({ db, clock, audit, members, settings });
  const memberExports = new ExportService({ db, clock, audit, settings });
  const consents = new ConsentRecorder(clock);
  const applicationRecords = new ApplicationRecordsService(db);
  const gateway = deps.gateway ?? createGateway(config);
  const jobs = new JobsService(db, clock, log);
  const payments = new PaymentsService({ db, clock, audit });
  const stripe = new StripeSyncService({ db, clock, log, audit, outbox, settings, gateway, payments });
  payments.onBankBooking((invoiceId) => stripe.syncBankSideQuietly(invoiceId)); // h/stripe: a bank booking marks the Stripe invoice paid out of band
  // h/money2: the Stripe customer follows the member's billing data at once (a job, retried while Stripe is down)
  const stripeCustomers = new StripeCustomerUpdates({ db, log, audit, jobs, members, gateway, stripe });
  members.onBillingDataChanged((trx, organisationId) => stripeCustomers.billingDataChanged(trx, organisationId));
  // sepa is built below (it needs dues); the closure reaches it when an invoice is issued
  const dues: DuesService = new DuesService({ db, clock, audit, outbox, settings, members, config, stripe, log, payments, mandateOf: (q, organisationId): Promise<DirectDebitMandate | null> => sepa.mandateForEInvoice(q, organisationId) }); // h/money: payments (carried-over credit)
  const duesRuns = new DuesRuns({ db, clock, audit, jobs, dues, log });
  // approval issues the first (pro-rata) dues invoice when the join year has a fee schedule
  const applications = new ApplicationsService({
    db, clock, audit, tokens, outbox, settings, members, users, dues, config, log, consents,
    // h/bank2: the SEPA mandate granted on the application form; sepa is built below
    mandates: { createFromApplication: (trx, actor, organisationId, m) => sepa.createMandateInTrx(trx, actor, organisationId, 'application', { scheme: m.scheme, iban: m.iban, bic: '', holder: m.holder, signedOn: m.signedOn }) },
  });
  // h/gdpr: every owner of the contacts' data does its part of the export and the anonymisation
  const gdpr = new GdprService({
    db, clock, audit, settings, exports: memberExports, consents, users, applications, outbox, dues,
    applicationTexts: applications, mail: outbox, auditLog: audit, jobs, payments,
    assemblies: new AssemblyPersonalData(db), demands: new DemandPersonalData(db), portal: new PortalPersonalData(db),
    sessions: { endForUsers: (trx, ids) => deleteSessionsOfUsers(trx, ids), forget: async (sids) => { for (const sid of sids) await changes.notify('sessions', sid); } },
    configured: { stripe: !!config.stripe.secretKey, smtpHost: config.smtpUrl ? new URL(config.smtpUrl).hostname : null, mailDir: config.mailDir },
    // an active SEPA mandate holds the anonymisation back (the mandate must be revoked first); sepa is built below
    // the parts of modules built below; each reads through its owner's service
    extraParts: [
      { name: 'sepaMandates', load: (id) => sepa.mandatesOf(id) },
      { name: 'bankBookings', load: (id) => bank.forOrganisation(id) },
      { name: 'directoryProfile', load: (id) => directory.own(id) },
    ],
    blockers: [async (organisationId) => ((await sepa.mandatesOf(organisationId)).some((m) => m.state === 'active' || m.state === 'flagged') ? { key: 'gdpr.refused.mandate', params: {} } : null)],
  });
  const portal = new PortalService({ db, clock, audit, outbox, settings, members, users, config });
  const sepa = new SepaService({ db, clock, log, audit, outbox, settings, users, dues, payments }); // h/sepa
  const stripeDebits = new StripeDebitClosing({ log, jobs, gateway, stripe });
  sepa.onRunCreated((trx, runId, ids) => stripeDebits.runCreated(trx, runId, ids)); // h/debit: an old pay link takes no card payment beside the debit
  dues.onInvoiceCancelled((trx, actor, invoiceId) => sepa.invoiceCancelled(trx, actor, invoiceId)); // a cancelled invoice is not collected
  payments.onPaymentArrived((trx, actor, invoiceId, p) => sepa.paymentArrived(trx, actor, invoiceId, p)); // no second payment beside a pending debit: it is dropped, lowered or flagged for recall
  const reminders = new RemindersService({ db, clock, audit, outbox, settings, debitStates: (invoices) => sepa.debitStates(invoices), stripeEnabled: () => stripe.enabled }); // h/sepa, h/bank2: no reminder while a debit collects, none asking a mandate holder to transfer, a returned debit named; h/money2: no Stripe page with Stripe off
  const assemblyRepo = new AssembliesRepository(db);
  const invitationsRepo = new InvitationsRepository(db);
  const answersRepo = new AnswersRepository(db);
  const dayRepo = new DayRepository(db);
  const documentsRepo = new DocumentsRepository(db);
  const assembly = new AssemblyService({ db, clock, config, audit, members, repo: assemblyRepo, settings }); // h/notice: settings for the change periods
  const assemblyAttachments = new AttachmentsService({ db, clock, audit, assemblies: assembly, documents: documentsRepo });
  const ballotsRepo = new BallotsRepository(db); // h/evote
  const assemblyDay = new DayService({ db, clock, audit, settings, members, assemblies: assembly, day: dayRepo, invitations: invitationsRepo, answers: answersRepo, documents: documentsRepo, ballots: ballotsRepo });
  // h/evote: electronic ballots
  const ballots = new BallotsService({ db, clock, audit, settings, members, assemblies: assembly, day: assemblyDay, dayRepo, answers: answersRepo, repo: ballotsRepo, log });
  const invitationJobs = new InvitationJobs({
    db, clock, audit, outbox, settings, config, log, jobs, assemblies: assembly, day: assemblyDay, attachments: assemblyAttachments,
    invitations: invitationsRepo, answers: answersRepo, documents: documentsRepo, ballots, // h/evote: ballots into the minutes
  });
  const assemblies: Assemblies = {
    assembly,
    sending: new SendingService({ db, clock, config, audit, outbox, settings, assemblies: assembly, repo: assemblyRepo, invitations: invitationsRepo, answers: answersRepo, jobs: invitationJobs }),
    answers: new AnswersService({
      db, clock, audit, settings, members, assemblies: assembly, attachments: assemblyAttachments, repo: assemblyRepo, invitations: invitationsRepo, answers: answersRepo, documents: documentsRepo,
    }),
    day: assemblyDay,
    minutes: new MinutesService({ db, clock, audit, assemblies: assembly, attachments: assemblyAttachments, documents: documentsRepo, jobs: invitationJobs, settings, day: assemblyDay, ballots }), // h/minutes: settings, day; h/evote: ballots
    attachments: assemblyAttachments,
    jobs: invitationJobs,
    // h/written: resolutions without an assembly
    written: new WrittenResolutionsService({ db, clock, config, audit, outbox, settings, members, repo: new WrittenRepository(db) }),
    ballots, // h/evote
  };
  const admin = new AdminService({ db, clock, users, audit, outbox, settings, accessLinks });
  const retention = new RetentionService({ db, clock, log, audit, settings, outbox, applications, gdpr, mailDir: config.mailDir });
  // h/demand: the minority's demand for an assembly (§ 37 BGB)
  const demands = new DemandsService({ db, clock, config, audit, outbox, settings, members, users, assemblies: assembly });
  // h/lead2: the network's public directory
  const directory = new DirectoryService({ db, clock, config, audit, outbox, settings, members, users });
  // h/bank: statements in; a returned direct debit in a statement goes to the SEPA module
  const bank = new BankService({ db, clock, audit, settings, dues, payments, onReturn: async (line, { handled }) => {
    if (!line.endToEndId || !line.returnReason) return;
    // h/bank2: the line leaves the queue in the return's own transaction
    await sepa.recordReturnFromStatement({ endToEndId: line.endToEndId, reasonCode: line.returnReason, amountCents: Math.abs(line.amountCents), bookedOn: line.bookingDate }, { userId: null, label: 'Kontoauszug' }, handled);
  } });
  // h/groups: working groups
  const groups = new GroupsService({ db, clock, config, audit, outbox, settings, members, users });
  return { groups, bank, sepa, directory, demands, retention, admin, config, db, clock, log, changes, audit, tokens, users, accessLinks, settings, outbox, members, applications, applicationRecords, portal, memberImport, memberExports, gdpr, gateway, jobs, stripe, dues, duesRuns, payments, reminders, assemblies };
}
