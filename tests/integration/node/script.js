// SPDX-License-Identifier: BSD-3-Clause
// ioredis against the server under test: node script.js PORT [PASSWORD]
// (the host is REDIS_HOST, default 127.0.0.1)
// Exits 0 when every check passes, 1 on the first failure (message on stderr),
// 2 when the whole run takes longer than 60 s.
'use strict';

const assert = require('node:assert/strict');
const Redis = require('ioredis');

const port = parseInt(process.argv[2], 10);
const password = process.argv[3];
if (!port) {
  console.error('usage: node script.js PORT [PASSWORD]');
  process.exit(64);
}

const opts = {
  host: process.env.REDIS_HOST || '127.0.0.1',
  port,
  password,
  lazyConnect: true,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null, // fail instead of reconnecting forever
  enableOfflineQueue: true,
};

const watchdog = setTimeout(() => {
  console.error('node test timed out');
  process.exit(2);
}, 60000);

async function expectError(promise, text) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.message, text);
    return;
  }
  assert.fail('expected error: ' + text);
}

async function main() {
  const r = new Redis({ ...opts, connectionName: 'node-test' });
  await r.connect();
  const steps = [];
  const step = (name) => steps.push(name);

  assert.equal(await r.ping(), 'PONG');
  assert.equal(await r.client('GETNAME'), 'node-test');
  step('ping+name');

  // SET / GET, options, binary values
  assert.equal(await r.set('node:a', 'hello'), 'OK');
  assert.equal(await r.get('node:a'), 'hello');
  assert.equal(await r.get('node:missing'), null);
  assert.equal(await r.set('node:a', 'x', 'NX'), null);
  assert.equal(await r.set('node:a', 'world', 'XX', 'GET'), 'hello');
  const bin = Buffer.from([0, 1, 2, 13, 10, 255, 254, 0]);
  assert.equal(await r.set('node:bin', bin), 'OK');
  assert.deepEqual(await r.getBuffer('node:bin'), bin);
  step('set/get');

  // MSET / MGET across slots
  const keys = [];
  const kv = {};
  for (let i = 0; i < 100; i++) {
    keys.push('node:m:' + i);
    kv['node:m:' + i] = 'v' + i;
  }
  assert.equal(await r.mset(kv), 'OK');
  const got = await r.mget(...keys, 'node:missing');
  assert.deepEqual(got, keys.map((k) => kv[k]).concat([null]));
  assert.equal(await r.msetnx('node:m:0', 'z', 'node:fresh', 'z'), 0);
  assert.equal(await r.exists('node:fresh'), 0);
  step('mset/mget');

  // INCR family and errors
  assert.equal(await r.incr('node:n'), 1);
  assert.equal(await r.incrby('node:n', 41), 42);
  assert.equal(await r.decr('node:n'), 41);
  assert.equal(await r.incrbyfloat('node:f', '1.5'), '1.5');
  await expectError(r.incr('node:a'), 'ERR value is not an integer or out of range');
  await expectError(r.call('nosuchcmd', 'x'),
    "ERR unknown command 'nosuchcmd', with args beginning with: 'x' ");
  step('incr');

  // pipeline: 1000 commands, replies in order
  const p = r.pipeline();
  for (let i = 0; i < 500; i++) {
    p.set('node:p:' + i, String(i));
    p.get('node:p:' + i);
  }
  const res = await p.exec();
  assert.equal(res.length, 1000);
  for (let i = 0; i < 500; i++) {
    assert.deepEqual(res[2 * i], [null, 'OK']);
    assert.deepEqual(res[2 * i + 1], [null, String(i)]);
  }
  step('pipeline');

  // many commands in flight at once (auto-pipelined by ioredis' queue)
  const parallel = await Promise.all(
    Array.from({ length: 200 }, (_, i) => r.incr('node:par')));
  assert.deepEqual([...parallel].sort((a, b) => a - b),
    Array.from({ length: 200 }, (_, i) => i + 1));
  step('parallel');

  // EXPIRE / TTL / PTTL / PERSIST, and an actual expiry
  assert.equal(await r.expire('node:a', 100), 1);
  const ttl = await r.ttl('node:a');
  assert.ok(ttl >= 99 && ttl <= 100, 'ttl ' + ttl);
  assert.ok((await r.pttl('node:a')) > 98000);
  assert.equal(await r.persist('node:a'), 1);
  assert.equal(await r.ttl('node:a'), -1);
  assert.equal(await r.ttl('node:missing'), -2);
  assert.equal(await r.set('node:short', 'v', 'PX', 100), 'OK');
  await new Promise((res) => setTimeout(res, 250));
  assert.equal(await r.get('node:short'), null);
  assert.equal(await r.exists('node:short'), 0);
  step('expire');

  // SCAN stream sees every key exactly or more than once
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const s = r.scanStream({ match: 'node:p:*', count: 37 });
    s.on('data', (batch) => batch.forEach((k) => seen.add(k)));
    s.on('end', resolve);
    s.on('error', reject);
  });
  assert.equal(seen.size, 500);
  for (let i = 0; i < 500; i++) assert.ok(seen.has('node:p:' + i));
  step('scanStream');

  // another database through the client option
  const r3 = new Redis({ ...opts, db: 3 });
  await r3.connect();
  assert.equal(await r3.set('node:db3', 'x'), 'OK');
  assert.equal(await r3.dbsize(), 1);
  assert.equal(await r.exists('node:db3'), 0);
  r3.disconnect();
  step('select');

  // INFO parses
  const info = await r.info('stats');
  assert.match(info, /total_commands_processed:\d+/);
  step('info');

  r.disconnect();
  clearTimeout(watchdog);
  console.log('ok: ' + steps.join(' '));
}

main().then(() => process.exit(0), (e) => {
  console.error('FAIL:', e && e.stack ? e.stack : e);
  process.exit(1);
});
