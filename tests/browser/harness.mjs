// What the browser tests share: their --options, a time bound on the whole
// run, a scratch folder, and the programs they start (ended with the run).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// `--name value` pairs of the command line; throws when one of `required` is missing.
// --out (a folder for screenshots) is made.
export function options(required) {
  const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
    (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
  for (const need of required) if (!args[need]) throw new Error(`missing --${need}`);
  if (args.out) mkdirSync(args.out, { recursive: true });
  return args;
}

// A run named `name`, failed after `seconds`: its scratch folder `dir`,
// start(program, argv) resolving with the program's first line on stdout,
// stop(child), and finish() to end the programs and remove the folder.
export function run(name, seconds) {
  const dir = mkdtempSync(join(tmpdir(), `haven-${name}-`));
  const children = [];
  const finish = () => {
    clearTimeout(deadline);
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = setTimeout(() => {
    console.error(`${name}: timed out after ${seconds} s`);
    finish();
    process.exit(1);
  }, seconds * 1000);
  const start = (program, argv) => {
    const child = spawn(program, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => resolve({ child, line }));
      child.once('exit', (code) => reject(new Error(`${program} exited (${code}) before its first line`)));
    });
  };
  const stop = (child) => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
  return { dir, start, stop, finish };
}

export const step = (what) => console.log(`-- ${what}`);

// A raw HTTP request, with exactly the headers given (Host included).
export function request(address, method, path, headers = {}, body) {
  const [hostname, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const r = http.request({ hostname, port, method, path, headers, setHost: !('Host' in headers), timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    r.on('timeout', () => r.destroy(new Error('request timed out')));
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

// Polls `probe` until it returns a truthy value, at most `seconds`.
export async function eventually(what, probe, seconds = 60) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
