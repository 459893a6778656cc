/* global document, window, sessionStorage, fetch, io */
// Back office page of the push gateway. Plain browser JavaScript without a
// build step: the gateway serves this file as is, and socket.io's browser
// client from /socket.io/socket.io.js defines the global `io`.

const SESSION_STORAGE_KEY = 'croupier.backoffice.session';
/** Retry delay after a handshake rejected with GATEWAY_ERR_DRAINING, in milliseconds. */
const DRAINING_RETRY_MS = 1000;
/** Rows kept in the transaction table; older ones are dropped as new ones arrive. */
const TRANSACTIONS_SHOWN_MAX = 50;

const HANDSHAKE_MESSAGES = {
  GATEWAY_ERR_TOKEN_MISSING: 'Sign in to continue.',
  GATEWAY_ERR_TOKEN_INVALID: 'Your session is invalid. Sign in again.',
  GATEWAY_ERR_TOKEN_EXPIRED: 'Your session has expired. Sign in again.',
  GATEWAY_ERR_BRAND_MISMATCH: 'Your account belongs to another brand. Sign in on that brand’s back office.',
};

const TRANSACTION_KIND_LABELS = {
  bet: 'Bet',
  win: 'Win',
  rollback: 'Rollback',
  deposit: 'Deposit',
  withdrawal_requested: 'Withdrawal requested',
  withdrawal_completed: 'Withdrawal completed',
  withdrawal_failed: 'Withdrawal failed',
  bonus: 'Bonus',
};

const STATUS_LABELS = { open: 'Open', in_review: 'In review', resolved: 'Resolved' };
const ROLE_LABELS = { agent: 'Agent', compliance_officer: 'Compliance officer' };

const elements = Object.fromEntries(
  [
    'session-bar', 'staff-identity', 'connection-status', 'sign-out', 'announcer',
    'sign-in-section', 'sign-in-form', 'username', 'password', 'sign-in-error',
    'console', 'player-form', 'player-id', 'player-error', 'player-view', 'watched-player-id',
    'balance-cash', 'balance-bonus', 'balance-version', 'balance-updated',
    'flags-role-note', 'player-flags-body', 'player-flags-empty',
    'interventions-list', 'interventions-empty', 'transactions-body', 'transactions-empty',
    'queue-section', 'queue-status', 'queue-refresh', 'queue-table', 'queue-body',
    'resolve-dialog', 'resolve-form', 'resolve-subject', 'resolve-note', 'resolve-error', 'resolve-cancel',
  ].map((id) => [id, document.getElementById(id)]),
);

/**
 * Page state. Pushes that arrive while a snapshot is being read are kept in
 * `pending…` lists and applied on top of the snapshot when it arrives, so a
 * change committed during the read is not lost.
 */
const state = {
  session: undefined,
  staff: undefined,
  socket: undefined,
  watched: undefined,
  watchRequest: 0,
  pendingWatchPushes: undefined,
  queue: new Map(),
  pendingQueueChanges: undefined,
  resolving: undefined,
};

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

function formatMoney(amountMinor, currency) {
  try {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amountMinor / 10 ** digits);
  } catch {
    return `${(amountMinor / 100).toFixed(2)} ${currency}`;
  }
}

function formatTime(isoTimestamp) {
  const date = new Date(isoTimestamp);
  return Number.isNaN(date.getTime()) ? isoTimestamp : date.toLocaleString();
}

function timeOf(isoTimestamp) {
  const milliseconds = Date.parse(isoTimestamp);
  return Number.isNaN(milliseconds) ? 0 : milliseconds;
}

function shortId(id) {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

// ---------------------------------------------------------------------------
// DOM helpers: every value is set with textContent, never parsed as HTML.
// ---------------------------------------------------------------------------

function cell(text, className) {
  const element = document.createElement('td');
  element.textContent = text;
  if (className !== undefined) element.className = className;
  return element;
}

function button(label, accessibleName, onClick, className) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.setAttribute('aria-label', accessibleName);
  if (className !== undefined) element.className = className;
  element.addEventListener('click', onClick);
  return element;
}

function announce(message) {
  elements.announcer.textContent = '';
  window.setTimeout(() => {
    elements.announcer.textContent = message;
  }, 50);
}

function markFresh(element) {
  element.classList.add('fresh');
  window.setTimeout(() => element.classList.remove('fresh'), 2000);
}

function setConnectionStatus(text, connectionState) {
  elements['connection-status'].textContent = text;
  elements['connection-status'].dataset.state = connectionState;
}

// ---------------------------------------------------------------------------
// Sign-in and session storage
// ---------------------------------------------------------------------------

function loadStoredSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_STORAGE_KEY) ?? 'null');
    if (session === null || typeof session.token !== 'string') return undefined;
    if (timeOf(session.expiresAt) <= Date.now()) return undefined;
    return session;
  } catch {
    return undefined;
  }
}

async function signIn(username, password) {
  let response;
  try {
    response = await fetch('api/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new Error('The back office could not be reached. Check your connection and try again.');
  }

  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    if (response.status === 401) throw new Error('Sign-in failed: the username or password is incorrect.');
    const message = body?.error?.message ?? body?.message ?? `HTTP ${response.status}`;
    throw new Error(`Sign-in failed: ${message}`);
  }
  if (typeof body?.token !== 'string') throw new Error('Sign-in failed: the response contained no session token.');
  return { token: body.token, role: body.role, expiresAt: body.expiresAt };
}

function showSignIn(message) {
  elements['sign-in-section'].hidden = false;
  elements.console.hidden = true;
  elements['session-bar'].hidden = true;
  elements['sign-in-error'].textContent = message ?? '';
  elements.password.value = '';
  elements.username.focus();
}

function signOut(message) {
  sessionStorage.removeItem(SESSION_STORAGE_KEY);
  state.session = undefined;
  state.staff = undefined;
  state.watched = undefined;
  state.queue.clear();
  if (state.socket !== undefined) {
    state.socket.removeAllListeners();
    state.socket.disconnect();
    state.socket = undefined;
  }
  elements['player-view'].hidden = true;
  showSignIn(message);
}

elements['sign-in-form'].addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = elements.username.value.trim();
  const password = elements.password.value;
  if (username === '' || password === '') {
    elements['sign-in-error'].textContent = 'Enter your username and password.';
    return;
  }

  const submit = elements['sign-in-form'].querySelector('button[type="submit"]');
  submit.disabled = true;
  elements['sign-in-error'].textContent = '';
  try {
    const session = await signIn(username, password);
    sessionStorage.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
    startConsole(session);
  } catch (error) {
    elements['sign-in-error'].textContent = error.message;
  } finally {
    submit.disabled = false;
  }
});

elements['sign-out'].addEventListener('click', () => signOut('You have signed out.'));

// ---------------------------------------------------------------------------
// Socket connection
// ---------------------------------------------------------------------------

function startConsole(session) {
  state.session = session;
  elements['sign-in-section'].hidden = true;
  elements.console.hidden = false;
  elements['session-bar'].hidden = false;
  elements['staff-identity'].textContent = ROLE_LABELS[session.role] ?? '';
  setConnectionStatus('Connecting…', 'connecting');
  connect(session.token);
  elements['player-id'].focus();
}

function connect(token) {
  const socket = io('/backoffice', { auth: { token }, transports: ['websocket', 'polling'] });
  state.socket = socket;
  let pendingNotice;

  socket.on('connect', () => {
    pendingNotice = undefined;
    setConnectionStatus('Live', 'connected');
    // Every (re)connect reads a fresh state; pushes missed while away are not replayed.
    if (state.watched !== undefined) watchPlayer(state.watched.playerId, { isRefresh: true });
  });
  socket.on('connect_error', (error) => {
    const code = error?.data?.code;
    if (code === 'GATEWAY_ERR_DRAINING') {
      setConnectionStatus('Reconnecting…', 'connecting');
      window.setTimeout(() => socket.connect(), DRAINING_RETRY_MS);
    } else if (code !== undefined) {
      signOut(HANDSHAKE_MESSAGES[code] ?? `The connection was rejected (${code}). Sign in again.`);
    } else {
      // A transport failure: socket.io-client retries by itself.
      setConnectionStatus('Reconnecting…', 'disconnected');
    }
  });
  socket.on('disconnect', (reason) => {
    setConnectionStatus('Reconnecting…', 'disconnected');
    const notice = pendingNotice;
    pendingNotice = undefined;
    if (notice?.code === 'GATEWAY_SESSION_EXPIRED') {
      signOut('Your session has expired. Sign in again.');
    } else if (reason === 'io server disconnect') {
      // socket.io-client does not reconnect after a server-side disconnect by itself.
      window.setTimeout(() => socket.connect(), notice?.reconnectAfterMs ?? DRAINING_RETRY_MS);
    }
  });
  socket.on('server:notice', (notice) => {
    pendingNotice = notice;
  });

  socket.on('session:ready', (staff) => {
    state.staff = staff;
    const role = ROLE_LABELS[staff.role] ?? staff.role;
    elements['staff-identity'].textContent = `${staff.username} · ${role} · ${staff.brand}`;
    elements['flags-role-note'].hidden = staff.canWatchQueue;
    prepareQueueSection(staff.canWatchQueue);
    renderPlayerFlags();
  });
  socket.on('queue:snapshot', (queue) => applyQueueSnapshot(queue));
  socket.on('queue:unavailable', (error) => {
    elements['queue-status'].textContent = `The queue could not be loaded: ${error.message}`;
    elements['queue-refresh'].hidden = false;
  });
  socket.on('player:balance', (update) => onWatchPush('balance', update));
  socket.on('player:transaction', (transaction) => onWatchPush('transaction', transaction));
  socket.on('player:intervention', (intervention) => onWatchPush('intervention', intervention));
  socket.on('flag:changed', (change) => {
    onQueueChange(change);
    onWatchPush('flag', change);
  });
}

/** Sends a request and resolves with its acknowledgement, or with a timeout error after 10 s. */
function request(eventName, ...payload) {
  return new Promise((resolve) => {
    if (state.socket === undefined || !state.socket.connected) {
      resolve({ ok: false, error: { code: 'CLIENT_NOT_CONNECTED', message: 'The back office is not connected; wait for it to reconnect.' } });
      return;
    }
    state.socket.timeout(10_000).emit(eventName, ...payload, (error, result) => {
      if (error) resolve({ ok: false, error: { code: 'CLIENT_TIMEOUT', message: 'The gateway request timed out; try again.' } });
      else resolve(result);
    });
  });
}

// ---------------------------------------------------------------------------
// Watched player
// ---------------------------------------------------------------------------

elements['player-form'].addEventListener('submit', (event) => {
  event.preventDefault();
  const playerId = elements['player-id'].value.trim();
  if (playerId === '') {
    elements['player-error'].textContent = 'Enter a player id.';
    return;
  }
  void watchPlayer(playerId, { isRefresh: false });
});

async function watchPlayer(playerId, { isRefresh }) {
  const previous = state.watched;
  const requestNumber = ++state.watchRequest;
  elements['player-error'].textContent = '';
  state.pendingWatchPushes = { playerId, pushes: [] };

  if (previous !== undefined && previous.playerId !== playerId) {
    void request('player:unwatch', { playerId: previous.playerId });
  }
  const result = await request('player:watch', { playerId });
  if (requestNumber !== state.watchRequest) return;

  const pushes = state.pendingWatchPushes?.playerId === playerId ? state.pendingWatchPushes.pushes : [];
  state.pendingWatchPushes = undefined;
  if (!result.ok) {
    elements['player-error'].textContent = `Player ${playerId} could not be loaded: ${result.error.message}`;
    if (!isRefresh) {
      state.watched = undefined;
      elements['player-view'].hidden = true;
    }
    return;
  }

  const live = result.value;
  state.watched = {
    playerId,
    balance: live.balance,
    transactions: live.transactions,
    transactionKeys: new Set(live.transactions.map(transactionKey)),
    interventions: live.interventions,
    flags: new Map(live.flags.map((flag) => [flag.flagId, flag])),
  };
  for (const push of pushes) applyWatchPush(push.kind, push.value, false);
  renderWatchedPlayer();
  if (!isRefresh) announce(`Watching player ${playerId}.`);
}

function onWatchPush(kind, value) {
  if (state.pendingWatchPushes !== undefined && state.pendingWatchPushes.playerId === value.playerId) {
    state.pendingWatchPushes.pushes.push({ kind, value });
    return;
  }
  if (state.watched === undefined || state.watched.playerId !== value.playerId) return;
  applyWatchPush(kind, value, true);
}

function transactionKey(transaction) {
  return `${transaction.kind}|${transaction.reference}`;
}

function applyWatchPush(kind, value, isLive) {
  const watched = state.watched;
  if (kind === 'balance') {
    if (value.balanceVersion <= watched.balance.balanceVersion) return;
    watched.balance = { ...watched.balance, ...value, takenAt: value.committedAt };
    if (isLive) renderBalance(true);
  } else if (kind === 'transaction') {
    const key = transactionKey(value);
    if (watched.transactionKeys.has(key)) return;
    watched.transactionKeys.add(key);
    watched.transactions.unshift(value);
    watched.transactions.length = Math.min(watched.transactions.length, TRANSACTIONS_SHOWN_MAX);
    if (isLive) renderTransactions(key);
  } else if (kind === 'intervention') {
    if (watched.interventions.some((known) => known.interventionId === value.interventionId)) return;
    watched.interventions.unshift(value);
    if (isLive) {
      renderInterventions(value.interventionId);
      announce(`New intervention for player ${value.playerId}: ${value.ruleId}.`);
    }
  } else if (kind === 'flag') {
    const known = watched.flags.get(value.flagId);
    if (known !== undefined && timeOf(known.updatedAt) > timeOf(value.updatedAt)) return;
    watched.flags.set(value.flagId, value);
    if (isLive) {
      renderPlayerFlags(value.flagId);
      announce(`Flag ${shortId(value.flagId)} of player ${value.playerId} is now ${STATUS_LABELS[value.status] ?? value.status}.`);
    }
  }
}

function renderWatchedPlayer() {
  elements['player-view'].hidden = false;
  elements['watched-player-id'].textContent = state.watched.playerId;
  renderBalance(false);
  renderPlayerFlags();
  renderInterventions();
  renderTransactions();
}

function renderBalance(isFresh) {
  const balance = state.watched.balance;
  elements['balance-cash'].textContent = formatMoney(balance.cashMinor, balance.currency);
  elements['balance-bonus'].textContent = formatMoney(balance.bonusMinor, balance.currency);
  elements['balance-version'].textContent = String(balance.balanceVersion);
  elements['balance-updated'].textContent = formatTime(balance.takenAt);
  if (isFresh) markFresh(elements['balance-cash'].parentElement.parentElement);
}

function renderTransactions(freshKey) {
  const body = elements['transactions-body'];
  body.replaceChildren();
  for (const transaction of state.watched.transactions) {
    const row = document.createElement('tr');
    const game = transaction.gameId === null ? '' : `${transaction.provider ?? ''} ${transaction.gameId}`.trim();
    row.append(
      cell(formatTime(transaction.committedAt)),
      cell(TRANSACTION_KIND_LABELS[transaction.kind] ?? transaction.kind),
      cell(formatMoney(transaction.amountMinor, transaction.currency), 'number'),
      cell(transaction.reference),
      cell(game),
    );
    if (transactionKey(transaction) === freshKey) markFresh(row);
    body.append(row);
  }
  elements['transactions-empty'].hidden = state.watched.transactions.length > 0;
}

function renderInterventions(freshId) {
  const list = elements['interventions-list'];
  list.replaceChildren();
  for (const intervention of state.watched.interventions) {
    const item = document.createElement('li');
    const title = document.createElement('strong');
    title.textContent = `${intervention.ruleId} (${intervention.severity})`;
    const message = document.createElement('p');
    message.textContent = intervention.message;
    const meta = document.createElement('p');
    meta.className = 'meta';
    const values = Object.entries(intervention.values).map(([name, value]) => `${name} ${value} of ${intervention.thresholds[name] ?? '?'}`);
    meta.textContent = `${formatTime(intervention.triggeredAt)} · actions: ${intervention.actions.join(', ')} · ${values.join(', ')}`;
    item.append(title, message, meta);
    if (intervention.interventionId === freshId) markFresh(item);
    list.append(item);
  }
  elements['interventions-empty'].hidden = state.watched.interventions.length > 0;
}

function renderPlayerFlags(freshId) {
  if (state.watched === undefined) return;
  const body = elements['player-flags-body'];
  body.replaceChildren();
  const flags = [...state.watched.flags.values()].sort((a, b) => timeOf(b.updatedAt) - timeOf(a.updatedAt));
  for (const flag of flags) {
    const row = document.createElement('tr');
    row.dataset.flagId = flag.flagId;
    row.append(
      cell(shortId(flag.flagId)),
      cell(flag.ruleId),
      cell(flag.severity, flag.severity === 'high' ? 'severity-high' : undefined),
      cell(STATUS_LABELS[flag.status] ?? flag.status),
      cell(formatTime(flag.updatedAt)),
      cell(flag.note ?? ''),
      flagActionsCell(flag),
    );
    if (flag.flagId === freshId) markFresh(row);
    body.append(row);
  }
  elements['player-flags-empty'].hidden = flags.length > 0;
}

// ---------------------------------------------------------------------------
// Compliance queue
// ---------------------------------------------------------------------------

function prepareQueueSection(canWatchQueue) {
  elements['queue-table'].hidden = !canWatchQueue;
  elements['queue-refresh'].hidden = true;
  elements['queue-status'].textContent = canWatchQueue
    ? 'Loading the queue…'
    : 'The compliance queue is available to compliance officers only.';
  // Changes that arrive before the snapshot are applied on top of it.
  state.pendingQueueChanges = canWatchQueue ? [] : undefined;
}

function applyQueueSnapshot(queue) {
  const changes = state.pendingQueueChanges ?? [];
  state.pendingQueueChanges = undefined;
  state.queue = new Map(queue.flags.map((flag) => [flag.flagId, flag]));
  for (const change of changes) applyQueueChange(change);
  elements['queue-refresh'].hidden = true;
  renderQueue();
}

function onQueueChange(change) {
  if (state.staff?.canWatchQueue !== true) return;
  if (state.pendingQueueChanges !== undefined) {
    state.pendingQueueChanges.push(change);
    return;
  }
  applyQueueChange(change);
  renderQueue(change.flagId);
  if (change.previousStatus === null) announce(`New ${change.severity} flag in the queue for player ${change.playerId}.`);
}

function applyQueueChange(change) {
  const known = state.queue.get(change.flagId);
  if (known !== undefined && timeOf(known.updatedAt) > timeOf(change.updatedAt)) return;
  if (change.status === 'resolved') state.queue.delete(change.flagId);
  else state.queue.set(change.flagId, change);
}

function renderQueue(freshId) {
  const body = elements['queue-body'];
  body.replaceChildren();
  const flags = [...state.queue.values()].sort((a, b) => timeOf(a.updatedAt) - timeOf(b.updatedAt));
  for (const flag of flags) {
    const row = document.createElement('tr');
    row.dataset.flagId = flag.flagId;
    const playerCell = document.createElement('td');
    playerCell.append(
      button(flag.playerId, `Watch player ${flag.playerId}`, () => {
        elements['player-id'].value = flag.playerId;
        void watchPlayer(flag.playerId, { isRefresh: false });
      }, 'secondary'),
    );
    row.append(
      playerCell,
      cell(flag.ruleId),
      cell(flag.severity, flag.severity === 'high' ? 'severity-high' : undefined),
      cell(STATUS_LABELS[flag.status] ?? flag.status),
      cell(formatTime(flag.updatedAt)),
      flagActionsCell(flag),
    );
    if (flag.flagId === freshId) markFresh(row);
    body.append(row);
  }
  elements['queue-status'].textContent = flags.length === 0 ? 'No open flags.' : `${flags.length} open or in review.`;
}

elements['queue-refresh'].addEventListener('click', async () => {
  state.pendingQueueChanges = [];
  const result = await request('queue:refresh');
  if (result.ok) applyQueueSnapshot(result.value);
  else {
    state.pendingQueueChanges = undefined;
    elements['queue-status'].textContent = `The queue could not be loaded: ${result.error.message}`;
  }
});

// ---------------------------------------------------------------------------
// Flag actions
// ---------------------------------------------------------------------------

function flagActionsCell(flag) {
  const actions = document.createElement('td');
  if (state.staff?.canWatchQueue !== true || flag.status === 'resolved') return actions;

  // The rules service moves a flag from open to in_review to resolved, one step at a time.
  if (flag.status === 'open') {
    actions.append(button('Start review', `Start review of flag ${flag.flagId} of player ${flag.playerId}`, () => reviewFlag(flag), 'secondary'));
  } else {
    actions.append(button('Resolve…', `Resolve flag ${flag.flagId} of player ${flag.playerId}`, () => openResolveDialog(flag)));
  }
  return actions;
}

async function reviewFlag(flag) {
  const result = await request('flag:review', { flagId: flag.flagId });
  if (!result.ok) {
    elements['player-error'].textContent = `Review of flag ${shortId(flag.flagId)} failed: ${result.error.message}`;
    return;
  }
  onQueueChange({ ...result.value, previousStatus: flag.status });
  onWatchPush('flag', result.value);
  announce(`Flag ${shortId(flag.flagId)} is in review.`);
}

function openResolveDialog(flag) {
  state.resolving = flag;
  elements['resolve-subject'].textContent = `Flag ${flag.flagId} of player ${flag.playerId}, rule ${flag.ruleId}.`;
  elements['resolve-note'].value = '';
  elements['resolve-error'].textContent = '';
  elements['resolve-dialog'].showModal();
  elements['resolve-note'].focus();
}

elements['resolve-cancel'].addEventListener('click', () => {
  state.resolving = undefined;
  elements['resolve-dialog'].close();
});

elements['resolve-form'].addEventListener('submit', async (event) => {
  event.preventDefault();
  const flag = state.resolving;
  if (flag === undefined) return;
  const note = elements['resolve-note'].value.trim();
  if (note === '') {
    elements['resolve-error'].textContent = 'Enter a note that says why the flag is resolved.';
    return;
  }

  const confirm = elements['resolve-form'].querySelector('#resolve-confirm');
  confirm.disabled = true;
  const result = await request('flag:resolve', { flagId: flag.flagId, note });
  confirm.disabled = false;
  if (!result.ok) {
    elements['resolve-error'].textContent = `The flag was not resolved: ${result.error.message}`;
    return;
  }
  state.resolving = undefined;
  elements['resolve-dialog'].close();
  // The ComplianceFlagChanged push follows; apply the acknowledged state now so the page does not wait for it.
  onQueueChange({ ...result.value, previousStatus: flag.status });
  onWatchPush('flag', result.value);
  announce(`Flag ${shortId(flag.flagId)} resolved.`);
});

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

const storedSession = loadStoredSession();
if (storedSession === undefined) showSignIn();
else startConsole(storedSession);
