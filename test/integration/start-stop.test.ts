import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/**
 * `npm start` and a stop by signalling npm's process, as a process manager or a terminal does:
 * node itself gets the signal (the start script execs it), finishes, closes the database and
 * exits; nothing is left serving.
 */
describe('npm start: a signal to npm stops the server gracefully', function () {
  this.timeout(120_000);

  it('SIGTERM to npm ends node as well, with a clean shutdown', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-start-'));
    const port = 3800 + Math.floor(Math.random() * 150);
    const npm = spawn('npm', ['start'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, SEED_DEMO: 'never', LOG_LEVEL: 'info', NODE_ENV: 'development', BASE_URL: `http://127.0.0.1:${port}`, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d) => { out += String(d); });
    npm.stderr.on('data', (d) => { out += String(d); });
    try {
      await new Promise<void>((resolve, reject) => {
        const check = setInterval(() => { if (out.includes('is ready')) { clearInterval(check); resolve(); } }, 100);
        npm.on('exit', () => { clearInterval(check); reject(new Error(`npm exited early:\n${out}`)); });
      });
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).to.equal(200);
      const children = execFileSync('pgrep', ['-P', String(npm.pid)]).toString().trim().split('\n').map(Number);
      expect(children).to.have.length(1);
      const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
      npm.kill('SIGTERM');
      await exited;
      for (let i = 0; i < 50 && alive(children[0]); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(children[0]), 'node still running after npm stopped').to.equal(false);
      expect(out).to.contain('"msg":"stopping"');
      const after = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'answered', () => 'refused');
      expect(after).to.equal('refused');
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
