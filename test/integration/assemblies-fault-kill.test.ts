import { expect } from 'chai';
import { runFaultRun } from '../fakes/invitations-fault-run.ts';

/**
 * Invitations survive a killed sender: a child process runs the invitation job and the outbox on
 * a SQLite file and is killed with SIGKILL twice (in the middle of the job, then in the middle
 * of SMTP sending); the listener refuses every third member's first two attempts with 451.
 *
 * What "exactly once" can mean here: a message whose 250 answer had arrived but whose 'sent'
 * status was not yet committed when the process died has an unknown outcome for the sender. The
 * outbox sends it again after the lock expires, with the SAME Message-ID (fixed at enqueue), so
 * the listener may count one raw DATA more than there are recipients; mail servers and clients
 * treat a repeated Message-ID as the same message. Deliveries are therefore counted per
 * recipient by distinct Message-ID, and the raw count is reported beside it.
 */
describe('assemblies: fault run — sender killed twice, 451 refusals, nobody lost or doubled', function () {
  this.timeout(90_000);

  it('delivers one invitation to each of 60 members and the delivery log says so', async () => {
    const r = await runFaultRun({ recipients: 60, refusedRecipients: 8, refusedAttempts: 2, killJobAfterEnqueued: 20, killSendAfterDelivered: 25 });
    const { log, childOutput, ...summary } = r;
    console.log(`      fault run: ${JSON.stringify(summary)}`);
    expect(r.signals.slice(0, 2), 'both kills were real SIGKILLs').to.deep.equal(['SIGKILL', 'SIGKILL']);
    expect(r.exitCodes[2], childOutput.join('\n')).to.equal(0);
    expect(childOutput.join('\n')).to.contain('was interrupted at 20/60: resuming');
    expect(r.refusals).to.equal(16); // 8 members × 2 refused attempts, each retried
    expect(r.lost).to.equal(0);
    expect(r.doubled).to.equal(0);
    expect(r.deliveredOnce).to.equal(60);
    expect(r.distinctMessageIds).to.equal(60);
    expect(r.logAllSent).to.equal(true);
    expect(r.logMatchesListener).to.equal(true);
    // raw duplicates only from messages in flight at the kill (at most the outbox's 3 parallel senders)
    expect(r.rawDataEnds).to.equal(60 + r.rawDuplicates);
    expect(r.rawDuplicates).to.be.at.most(3);
    // the refused members show their retries in the log, ending with the listener's 250
    const refused = log.filter((l) => l.attempts >= 3);
    expect(refused).to.have.length.of.at.least(8);
    for (const l of refused) expect(l.lastResponse).to.match(/^250/);
  });
});
