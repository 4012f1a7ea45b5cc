// Drives npm `authy-client` 1.1.4 against a running simulator: every call it
// supports, and its callback verification (which refuses modern callbacks
// because it wants `device_uuid` as a string, spec §4.2: reported, not failed).
//
//   npm install authy-client@1.1.4
//   PORT=4318 AUTHY_API_KEY=k AUTHY_CALLBACK_URL=http://127.0.0.1:4319/cb \
//       cargo run --example simulator --features simulator &
//   SIM_URL=http://127.0.0.1:4318 SIM_KEY=k CB_PORT=4319 node tests/official/authy_client_check.js
const { Client } = require('authy-client');
const http = require('http');
const BASE = process.env.SIM_URL, KEY = process.env.SIM_KEY, CB_PORT = +process.env.CB_PORT;
let failed = false;
const received = [];
const ok = (name, cond, extra) => { console.log((cond ? 'PASS ' : 'FAIL ') + name + (cond ? '' : ' ' + JSON.stringify(extra))); if (!cond) failed = true; };
const phone = async (path, method = 'GET') => (await fetch(`${BASE}/phone/api/${path}`, { method })).json();
const server = http.createServer((req, res) => { let b = ''; req.on('data', c => b += c); req.on('end', () => { received.push({ headers: req.headers, body: b, url: req.url }); res.end('ok'); }); });
async function step(name, fn) { try { const r = await fn(); ok(name, true); return r; } catch (e) { ok(name, false, String(e && (e.stack || e))); } }
(async () => {
  await new Promise(r => server.listen(CB_PORT, '127.0.0.1', r));
  const client = new Client({ key: KEY }, { host: BASE });
  const reg = await step('registerUser', () => client.registerUser({ countryCode: 'PT', email: 'node@example.com', phone: '911234567' }));
  const authyId = reg && reg.user.id;
  await step('requestSms (ignored)', async () => { const r = await client.requestSms({ authyId }); if (!r.ignored) throw new Error(JSON.stringify(r)); });
  await step('requestSms force', () => client.requestSms({ authyId }, { force: true }));
  await step('requestCall force', () => client.requestCall({ authyId }, { force: true }));
  const msgs = await phone(`users/${authyId}/messages`);
  await step('verifyToken', () => client.verifyToken({ authyId, token: msgs[0].code }, { force: true }));
  await step('verifyToken wrong rejects', async () => { try { await client.verifyToken({ authyId, token: '0000000' }, { force: true }); } catch (e) { return; } throw new Error('accepted'); });
  await step('getUserStatus', () => client.getUserStatus({ authyId }, { ip: '10.0.0.1' }));
  await step('registerActivity', () => client.registerActivity({ authyId, data: { reason: 'x' }, type: 'password_reset' }, { ip: '10.0.0.1' }));
  await step('getApplicationDetails', () => client.getApplicationDetails());
  await step('getApplicationStatistics', () => client.getApplicationStatistics());
  await step('startPhoneVerification', () => client.startPhoneVerification({ countryCode: 'PT', phone: '911234568', via: 'sms' }));
  const pv = await phone('phones/351/911234568/messages');
  await step('verifyPhone', () => client.verifyPhone({ countryCode: 'PT', phone: '911234568', token: pv[0].code }));
  await step('getPhoneInformation', () => client.getPhoneInformation({ countryCode: 'PT', phone: '911234568' }));
  const ar = await step('createApprovalRequest', () => client.createApprovalRequest({ authyId, details: { visible: { User: 'node' }, hidden: { ip: '10.0.0.1' } }, logos: [{ res: 'default', url: 'https://example.com/d.png' }], message: 'Login?' }, { ttl: 120 }));
  const id = ar && ar.approval_request.uuid;
  await step('getApprovalRequest', () => client.getApprovalRequest({ id }));
  const answer = await phone(`approval_requests/${id}/approve`, 'POST');
  ok('approve delivered', answer.callback && answer.callback.status === 200, answer);
  const cb = received[received.length - 1];
  // authy-client schema-checks `device_uuid` as a string, which rejects every
  // modern (2017+) callback (spec 4.2); report, do not fail.
  try { await client.verifyCallback({ body: JSON.parse(cb.body), headers: cb.headers, method: 'POST', protocol: 'http', url: '/cb' }); console.log('INFO verifyCallback accepted'); } catch (e) { console.log('INFO verifyCallback refused: ' + e.message + ' ' + JSON.stringify(e.errors || '')); }
  await step('deleteUser', () => client.deleteUser({ authyId }, { ip: '10.0.0.1' }));
  server.close();
  process.exit(failed ? 1 : 0);
})();
