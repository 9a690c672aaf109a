import { z } from 'zod';
import type { Context } from '../context.ts';
import { isRole, ROLES, type Role } from '../auth/roles.ts';
import { generatePassword, MIN_PASSWORD_LENGTH } from '../auth/passwords.ts';
import { AppError } from '../errors.ts';
import { asList, ask, CLI_ACTOR, CommandError, UsageError, type Command, type Print } from './command.ts';

const emailSchema = z.email();

async function userCreate(ctx: Context, args: { values: Record<string, unknown> }, print: Print): Promise<void> {
  const { values } = args;
  const email = String(values.email ?? '').trim().toLowerCase();
  const roles = asList(values.role);
  const name = typeof values.name === 'string' && values.name.trim() ? values.name.trim() : email.split('@')[0];
  let password = typeof values.password === 'string' ? values.password : undefined;

  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`--password: must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (await ctx.users.byEmail(email)) throw new CommandError(`A user with the e-mail address ${email} exists already.`);

  let generated = false;
  if (password === undefined) {
    if (process.stdin.isTTY) {
      for (;;) {
        const first = await ask(`Password for ${email} (at least ${MIN_PASSWORD_LENGTH} characters): `, true);
        if (first.length < MIN_PASSWORD_LENGTH) {
          print(`Too short: at least ${MIN_PASSWORD_LENGTH} characters.`);
          continue;
        }
        const again = await ask('Repeat the password: ', true);
        if (again !== first) {
          print('The two entries differ; please try again.');
          continue;
        }
        password = first;
        break;
      }
    } else {
      password = generatePassword();
      generated = true;
    }
  }

  try {
    const id = await ctx.users.create(CLI_ACTOR, { email, displayName: name, roles: roles as Role[], password }); // why: precheck refused every role that is not isRole()
    print(`Created user #${id} ${email} (${roles.join(', ')}), display name "${name}".`);
    if (generated) {
      print('Generated password (shown only this once, store it safely or reset it by e-mail later):');
      print(`  ${password}`);
    }
    print(`Log in at ${ctx.config.baseUrl}/login`);
  } catch (err) {
    if (err instanceof AppError && err.code === 'email_taken') throw new CommandError(`A user with the e-mail address ${email} exists already.`);
    throw err;
  }
}

/** `user:create`: the first admin, or other users. */
export const userCreateCommand: Command = {
  usage: 'user:create --email E --role R [--role R …] [--name N] [--password P]',
  summary: `create a user (the first admin, or others); roles: ${ROLES.join(', ')}. Without --password you are asked (or, without a terminal, one is generated and printed once)`,
  options: { email: { type: 'string' }, role: { type: 'string', multiple: true }, name: { type: 'string' }, password: { type: 'string' } },
  available: true,
  precheck: (_config, { values }) => {
    const email = String(values.email ?? '').trim();
    if (!email) throw new UsageError('--email is required');
    if (!emailSchema.safeParse(email).success) throw new UsageError(`--email: "${email}" is not an e-mail address`);
    const roles = asList(values.role);
    if (!roles.length) throw new UsageError(`--role is required (one or more of: ${ROLES.join(', ')})`);
    const bad = roles.filter((r) => !isRole(r));
    if (bad.length) throw new UsageError(`--role: unknown role ${bad.map((r) => `"${r}"`).join(', ')} (known: ${ROLES.join(', ')})`);
  },
  run: userCreate,
};
