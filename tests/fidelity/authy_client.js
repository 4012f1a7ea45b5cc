// Drive npm `authy-client` 1.1.4 against the simulator: every call it offers,
// checked the way its users check them. `tests/it/official_clients.rs`
// installs the package into a throwaway folder and runs:
//
//   SIM_URL=http://127.0.0.1:PORT SIM_KEY=key node authy_client.js
//
// authy-client resolves each promise only after its own schema checks of the
// answer (exact messages, field types), so a resolved call is a fidelity check.
const { Client } = require('authy-client');

const BASE = process.env.SIM_URL;
const KEY = process.env.SIM_KEY;
let passed = 0;

async function check(name, fn) {
  try {
    const result = await fn();
    passed += 1;
    return result;
  } catch (error) {
    console.error(`FAILED: ${name}: ${error && (error.stack || error)}`);
    process.exit(1);
  }
}

async function refused(name, fn) {
  return check(name, async () => {
    try { await fn(); } catch (error) { return error; }
    throw new Error('accepted');
  });
}

const phone = async (path, method = 'GET') =>
  (await fetch(`${BASE}/phone/api/${path}`, { method, headers: { Accept: 'application/json' } })).json();

(async () => {
  const client = new Client({ key: KEY }, { host: BASE });
  const user = await check('registerUser', () =>
    client.registerUser({ countryCode: 'PT', email: 'node@example.com', phone: '911234567' }));
  const authyId = user.user.id;
  await check('requestSms is ignored for app users', async () => {
    const answer = await client.requestSms({ authyId });
    if (!answer.ignored) throw new Error(JSON.stringify(answer));
  });
  await check('requestSms with force', () => client.requestSms({ authyId }, { force: true }));
  await check('requestCall with force', () => client.requestCall({ authyId }, { force: true }));
  const messages = await phone(`users/${authyId}/messages`);
  await check('verifyToken accepts the code sent', () =>
    client.verifyToken({ authyId, token: messages[messages.length - 1].code }, { force: true }));
  await refused('verifyToken refuses a wrong code', () =>
    client.verifyToken({ authyId, token: '0000000' }, { force: true }));
  await check('getUserStatus', () => client.getUserStatus({ authyId }, { ip: '10.0.0.1' }));
  await check('registerActivity', () =>
    client.registerActivity({ authyId, data: { reason: 'test' }, type: 'password_reset' }, { ip: '10.0.0.1' }));
  await check('getApplicationDetails', () => client.getApplicationDetails());
  await check('getApplicationStatistics', () => client.getApplicationStatistics());
  await check('startPhoneVerification', () =>
    client.startPhoneVerification({ countryCode: 'PT', phone: '911234568', via: 'sms' }));
  const codes = await phone('phones/351/911234568/messages');
  await check('verifyPhone', () =>
    client.verifyPhone({ countryCode: 'PT', phone: '911234568', token: codes[0].code }));
  await check('getPhoneInformation', () =>
    client.getPhoneInformation({ countryCode: 'PT', phone: '911234568' }));
  const created = await check('createApprovalRequest', () => client.createApprovalRequest({
    authyId,
    details: { visible: { User: 'node' }, hidden: { ip: '10.0.0.1' } },
    logos: [{ res: 'default', url: 'https://example.com/d.png' }],
    message: 'Log in?',
  }, { ttl: 120 }));
  const id = created.approval_request.uuid;
  await check('getApprovalRequest', async () => {
    const answer = await client.getApprovalRequest({ id });
    if (answer.approval_request.status !== 'pending') throw new Error(JSON.stringify(answer));
  });
  await refused('getApprovalRequest of an unknown uuid', () =>
    client.getApprovalRequest({ id: '00000000-0000-0000-0000-000000000000' }));
  await check('deleteUser', () => client.deleteUser({ authyId }, { ip: '10.0.0.1' }));
  console.log(`${passed} passed, 0 failed`);
})();
