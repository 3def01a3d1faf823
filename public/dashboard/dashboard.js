// The example dashboard: how a browser app consumes this gateway. One GraphQL POST per view;
// money is shown from the exact Decimal strings the API returns: digits are grouped as text,
// never through a float. With "Live" on, two subscriptions (over Server-Sent Events, live.js)
// keep the channel's all-time red-pack totals and its latest red packs up to date instead.
/* global Chart, LiveStreams */
(function () {
  'use strict';

  const QUERY = `query Dashboard($channel: ID!, $from: Date!, $to: Date!, $startTime: DateTime!, $endTime: DateTime!) {
  channel(id: $channel) {
    incomeSummary(startDate: $from, endDate: $to) { count total { amount } byPayType { payType label count amount { amount } } byDay { date count amount { amount fen } } asOf }
    redPackSummary(startTime: $startTime, endTime: $endTime) { count totalAmount { amount } totalReceived { amount } receiverCount byType { type label count amount { amount } } asOf }
    redPacks(first: 10, startTime: $startTime, endTime: $endTime) { nodes { id createdAt type typeLabel sender { nickname } amount { amount } receiveCount } }
  }
}`;
  // Live: the channel's totals (all time: a subscription has no date range), re-sent when they
  // change, and what happens to its red packs, starting from the newest as they stand.
  const LIVE_TOTALS = `subscription DashboardTotals($channel: ID!) {
  channelTotals(channelId: $channel) { count totalAmount { amount } totalReceived { amount } totalBalance { amount } receiverCount byType { type label count amount { amount } } byStatus { status label count amount { amount } } asOf }
}`;
  const LIVE_EVENTS = `subscription DashboardRedPacks($channel: ID!, $recent: Int!) {
  redPackEvents(channelId: $channel, recent: $recent) { kind sequence redPack { id createdAt type typeLabel sender { nickname } amount { amount } receiveCount } }
}`;
  // Rows of "Latest red packs": redPacks(first: 10) in QUERY, `recent` when live.
  const TABLE_SIZE = 10;
  // How long a new or changed row stays highlighted.
  const HIGHLIGHT_MS = 4000;
  // A tab hidden this long closes its streams (a browser opens only six connections to a host
  // over HTTP/1.1, shared by all its tabs); shown again, it reopens them.
  const HIDDEN_PAUSE_MS = 30_000;
  // Error codes that mean the question itself is refused: asking again would not help.
  const REFUSED = new Set([
    'BAD_USER_INPUT',
    'BAD_REQUEST',
    'UNAUTHENTICATED',
    'FORBIDDEN',
    'QUERY_LIMIT_EXCEEDED',
    'GRAPHQL_PARSE_FAILED',
    'GRAPHQL_VALIDATION_FAILED',
  ]);
  const KEY_STORAGE = 'polyv-graphql-api-key';
  const RECENT_STORAGE = 'polyv-graphql-recent-channels';
  const RECENT_MAX = 6;
  // However short an answer's max-age, refresh no more often than this.
  const MIN_REFRESH_S = 5;
  // An answer with no max-age (the gateway's cache is off): refresh after this long.
  const DEFAULT_REFRESH_S = 60;
  // After the gateway could not be reached: try again after this long.
  const RETRY_S = 30;
  const CST_OFFSET_MS = 8 * 60 * 60 * 1000;
  const DAY_MS = 24 * 60 * 60 * 1000;

  const config = JSON.parse(document.getElementById('dashboard-config').textContent);
  const $ = (id) => document.getElementById(id);
  const filters = $('filters');
  const keyForm = $('api-key');
  const liveSwitch = $('live');

  /** "2437947.53" -> "2,437,947.53": the digits of the string grouped, the string unchanged. */
  function groupDigits(decimal) {
    const match = /^(-?)(\d+)(\.\d+)?$/.exec(decimal);
    if (!match) return decimal; // not a plain decimal: show it as the API wrote it
    const [, sign, whole, fraction = ''] = match;
    return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`;
  }
  const yuan = (money) =>
    money.amount.startsWith('-')
      ? `-¥${groupDigits(money.amount.slice(1))}`
      : `¥${groupDigits(money.amount)}`;
  const count = (number) => groupDigits(String(number));
  const cstTime = (iso) => new Date(iso).toLocaleString('sv-SE', { timeZone: 'Asia/Shanghai' });
  /** The China Standard Time day (YYYY-MM-DD) of an instant: the API's days are CST days. */
  const cstDay = (ms) => new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);

  /** Preset ranges, ending today in CST. */
  const PRESETS = {
    today: (now) => ({ from: cstDay(now), to: cstDay(now) }),
    '7d': (now) => ({ from: cstDay(now - 6 * DAY_MS), to: cstDay(now) }),
    '30d': (now) => ({ from: cstDay(now - 29 * DAY_MS), to: cstDay(now) }),
    month: (now) => ({ from: `${cstDay(now).slice(0, 8)}01`, to: cstDay(now) }),
  };

  // The API's argument and variable names, as this page calls the fields they come from.
  const FIELD_NAMES = {
    id: 'Channel',
    channel: 'Channel',
    channelId: 'Channel',
    from: 'From',
    startDate: 'From',
    startTime: 'From',
    to: 'To',
    endDate: 'To',
    endTime: 'To',
  };
  const VARIABLE_ERROR = /^Variable "\$(\w+)" got invalid value ("[^"]*"); /;
  /**
   * An API message in the page's terms: `startTime` -> "From", and a rejected variable
   * ('Variable "$from" got invalid value "x"; ...') named by its field. The form field it is
   * about, if any, comes back too, so one field is not reported twice (date and time).
   */
  function inPageTerms(message) {
    const variable = VARIABLE_ERROR.exec(message);
    const field = variable && FIELD_NAMES[variable[1]];
    const text = (
      field ? `“${field}” ${variable[2]}: ${message.slice(variable[0].length)}` : message
    ).replace(/`(\w+)`/g, (quoted, name) =>
      FIELD_NAMES[name] ? `“${FIELD_NAMES[name]}”` : quoted,
    );
    return { text, field };
  }

  // Recently shown channels, newest first, kept in this browser (never the API key).
  function recentChannels() {
    try {
      const list = JSON.parse(localStorage.getItem(RECENT_STORAGE) || '[]');
      return Array.isArray(list) ? list.filter((id) => /^\d+$/.test(id)) : [];
    } catch {
      return [];
    }
  }
  function rememberChannel(channel) {
    const list = [channel, ...recentChannels().filter((id) => id !== channel)].slice(0, RECENT_MAX);
    localStorage.setItem(RECENT_STORAGE, JSON.stringify(list));
    showRecentChannels();
  }
  function showRecentChannels() {
    const list = recentChannels();
    $('recent').hidden = list.length === 0;
    $('recent-list').replaceChildren(
      ...list.map((id) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = id;
        button.addEventListener('click', () => {
          filters.elements.channel.value = id;
          show();
        });
        return button;
      }),
    );
  }

  /** The API key, if this tab has one, as the gateway wants it. */
  function authHeaders() {
    const key = sessionStorage.getItem(KEY_STORAGE);
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  /**
   * Sends the query; resolves to { data, errors, maxAge } (errors from GraphQL or HTTP; maxAge
   * the seconds the answer stays fresh, from Cache-Control and Age, or undefined).
   */
  async function fetchDashboard({ channel, from, to }) {
    const variables = {
      channel,
      from,
      to,
      // The red packs of the same China Standard Time days as the income.
      startTime: `${from}T00:00:00+08:00`,
      endTime: `${to}T23:59:59.999+08:00`,
    };
    const headers = { 'content-type': 'application/json', ...authHeaders() };
    const response = await fetch(config.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: QUERY, variables, operationName: 'Dashboard' }),
    });
    keyForm.hidden = response.status !== 401;
    const maxAge = /(?:^|,)\s*max-age=(\d+)/.exec(response.headers.get('cache-control') || '');
    const age = Number(response.headers.get('age')) || 0;
    const body = await response.json().catch(() => ({}));
    if (!body.data && !body.errors) {
      return { errors: [{ message: `HTTP ${response.status} ${response.statusText}` }] };
    }
    return { ...body, maxAge: maxAge ? Math.max(Number(maxAge[1]) - age, 0) : undefined };
  }

  function showErrors(errors) {
    const box = $('errors');
    const fieldsSaid = new Set();
    // Several fields failing for one reason (an unknown channel fails every list of it) say
    // the same line: it is shown once.
    const linesSaid = new Set();
    const lines = [];
    for (const error of errors) {
      const { text, field } = inPageTerms(error.message);
      if (field && fieldsSaid.has(field)) continue;
      if (field) fieldsSaid.add(field);
      const code = error.extensions && error.extensions.code;
      const said = code ? `${code}: ${text}` : text;
      if (linesSaid.has(said)) continue;
      linesSaid.add(said);
      const line = document.createElement('p');
      line.textContent = said;
      lines.push(line);
    }
    box.replaceChildren(...lines);
    box.hidden = errors.length === 0;
  }

  /**
   * Our English name of an enum value the API answers (`PAY_PER_VIEW` -> "Pay per view"). The
   * page speaks English; Polyv's Chinese label is kept beside the name (`named`). UNKNOWN is a
   * label the schema does not know yet: "Other", told apart by Polyv's label.
   */
  const englishName = (value) =>
    value === 'UNKNOWN'
      ? 'Other'
      : value.charAt(0) + value.slice(1).toLowerCase().replaceAll('_', ' ');

  /** A cell's content: our English name, then Polyv's label beside it, lighter. */
  function named(value, label) {
    const english = document.createElement('span');
    english.className = 'english-name';
    english.textContent = englishName(value);
    const polyv = document.createElement('span');
    polyv.className = 'polyv-label';
    polyv.lang = 'zh-CN';
    polyv.title = "Polyv's label";
    polyv.textContent = label;
    const both = document.createDocumentFragment();
    both.append(english, ' ', polyv);
    return both;
  }

  /** A chart axis has room for one name: ours, with Polyv's label only to tell "Other"s apart. */
  const axisName = (value, label) =>
    value === 'UNKNOWN' ? `Other (${label})` : englishName(value);

  /** A table row of these contents (texts, or nodes from `named`). */
  function makeRow(testId, contents) {
    const row = document.createElement('tr');
    row.dataset.testid = testId;
    for (const content of contents) {
      const cell = document.createElement('td');
      cell.append(content);
      row.append(cell);
    }
    return row;
  }

  /** Fills a table body: one row per item, `cells` gives the texts of a row. */
  function fillTable(id, testId, items, cells) {
    $(id)
      .querySelector('tbody')
      .replaceChildren(...items.map((item) => makeRow(testId, cells(item))));
  }

  /** A row of a breakdown by `kind` (`payType`, `type`): its name, count and amount. */
  const summaryRow = (kind) => (row) => [
    named(row[kind], row.label),
    count(row.count),
    yuan(row.amount),
  ];

  /** A row of "Latest red packs", marked with the red pack's id. */
  function redPackRow(pack) {
    const row = makeRow('redpack-row', [
      cstTime(pack.createdAt),
      named(pack.type, pack.typeLabel),
      pack.sender.nickname,
      yuan(pack.amount),
      count(pack.receiveCount),
    ]);
    row.dataset.id = pack.id;
    return row;
  }

  const setText = (testId, text) => {
    document.querySelector(`[data-testid="${testId}"]`).textContent = text;
  };

  /**
   * The bar chart: one bar of money per { label, amount, count, title? }, under the title
   * `title`; `counted` names what `count` counts ("payments"), a bar's `title` heads its tooltip
   * (else its label). Redrawn in place when it exists.
   */
  function drawChart(title, bars, counted) {
    const canvas = $('income-chart');
    $('chart-title').textContent = title;
    canvas.setAttribute('aria-label', title);
    const labels = bars.map((bar) => bar.label);
    // Bar heights need numbers: parsed from the Decimal for drawing only, never added up.
    const data = bars.map((bar) => Number(bar.amount.amount));
    // The tooltip shows the exact amount, as the API wrote it.
    const label = (item) =>
      `${yuan(bars[item.dataIndex].amount)}, ${count(bars[item.dataIndex].count)} ${counted}`;
    const heading = (items) => items.map((item) => bars[item.dataIndex].title || item.label);
    const chart = Chart.getChart(canvas);
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = data;
      chart.data.datasets[0].label = title;
      chart.options.plugins.tooltip.callbacks.label = label;
      chart.options.plugins.tooltip.callbacks.title = heading;
      chart.update();
      return;
    }
    new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: title, data }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { ticks: { callback: (value) => `¥${groupDigits(String(value))}` } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label, title: heading } } },
      },
    });
  }

  function clearChart() {
    const chart = Chart.getChart($('income-chart'));
    if (chart) chart.destroy();
  }

  function render(channel) {
    const { incomeSummary: income, redPackSummary: packs, redPacks } = channel;
    setText('income-total', yuan(income.total));
    setText('income-count', count(income.count));
    setText('redpack-count', count(packs.count));
    setText('redpack-total', yuan(packs.totalAmount));
    setText('redpack-received', yuan(packs.totalReceived));
    setText('redpack-receivers', count(packs.receiverCount));
    setText('as-of', `${cstTime(income.asOf)} (income), ${cstTime(packs.asOf)} (red packs)`);
    drawChart(
      'Income by day',
      income.byDay.map((day) => ({
        label: day.date.slice(5),
        amount: day.amount,
        count: day.count,
      })),
      'payments',
    );
    fillTable('paytypes', 'paytype-row', income.byPayType, summaryRow('payType'));
    fillTable('redpacktypes', 'redpacktype-row', packs.byType, summaryRow('type'));
    $('redpacks')
      .querySelector('tbody')
      .replaceChildren(...redPacks.nodes.map(redPackRow));
  }

  // The next automatic refresh: due when the answer on screen stops being fresh.
  let refreshTimer;
  function scheduleRefresh(seconds) {
    clearTimeout(refreshTimer);
    const auto = $('auto-refresh').checked && seconds !== undefined;
    document.body.dataset.nextRefresh = auto ? String(seconds) : '';
    $('next-refresh').textContent = auto ? `next refresh in ${seconds} s` : '';
    if (auto) refreshTimer = setTimeout(refresh, seconds * 1000);
  }

  /** The page's own checks, before asking the API: said in the form's terms. */
  function formProblem({ from, to }) {
    if (from > to) return '“From” must not be after “To”.';
    return undefined;
  }

  /**
   * Numbers on screen that no longer answer the form (a mistake in it, the gateway out of reach):
   * dimmed, and said to be the last ones shown, until an answer replaces them.
   */
  function setStale(stale) {
    const shown = !$('dashboard').hidden;
    $('dashboard').classList.toggle('stale', stale && shown);
    $('stale-note').hidden = !(stale && shown);
  }

  // Bumped whenever live mode starts or stops: an answer asked for before is not shown.
  let view = 0;

  async function refresh() {
    clearTimeout(refreshTimer);
    if (liveSwitch.checked) return;
    const asked = view;
    const status = $('status');
    const form = Object.fromEntries(new FormData(filters));
    const problem = formProblem(form);
    if (problem) {
      showErrors([{ message: problem }]);
      setStale(true);
      status.textContent = '';
      document.body.dataset.state = 'error';
      scheduleRefresh(undefined);
      return;
    }
    status.textContent = 'Loading…';
    document.body.dataset.state = 'loading';
    try {
      const { data, errors = [], maxAge } = await fetchDashboard(form);
      if (asked !== view) return;
      showErrors(errors);
      const channel = data && data.channel;
      if (channel) render(channel);
      if (channel && errors.length === 0) rememberChannel(form.channel);
      $('dashboard').hidden = !channel;
      setStale(false);
      status.textContent = channel ? `Updated ${cstTime(new Date().toISOString())} CST` : '';
      document.body.dataset.state = errors.length > 0 ? 'error' : 'ready';
      // Not before the answer could change (its max-age); a rejected question is not repeated.
      const fresh = maxAge === undefined ? DEFAULT_REFRESH_S : Math.max(maxAge, MIN_REFRESH_S);
      scheduleRefresh(channel && errors.length === 0 ? fresh : undefined);
    } catch (error) {
      if (asked !== view) return;
      showErrors([{ message: `Could not reach the gateway: ${error.message}` }]);
      setStale(true);
      status.textContent = '';
      document.body.dataset.state = 'error';
      scheduleRefresh(RETRY_S);
    }
  }

  // Live mode -------------------------------------------------------------------------------

  /** The open subscriptions while live is on ({ close() } from LiveStreams.open). */
  let liveStreams;

  /**
   * The live status, for people (the text) and for scripts and styles (body[data-live]). When
   * the text is unchanged it is not rewritten: screen readers announce every change to it. The
   * time of the last update sits next to it, outside the announced region.
   */
  function setLiveStatus(state, text) {
    document.body.dataset.live = state;
    if ($('live-status').textContent !== text) $('live-status').textContent = text;
    $('live-updated').textContent =
      state === 'live' ? `· updated ${cstTime(new Date().toISOString()).slice(11)} CST` : '';
  }

  /** Shows what live mode covers, and what it does not: all time, red packs only. */
  function setLiveMode(on) {
    document.body.classList.toggle('live-on', on);
    for (const element of document.querySelectorAll('[data-live-only]')) element.hidden = !on;
    for (const element of document.querySelectorAll('[data-range-only]')) element.hidden = on;
    $('live-note').hidden = !on;
    $('range-note').hidden = !on;
    // Live totals have no date range; live replaces refreshing.
    const controls = [
      filters.elements.from,
      filters.elements.to,
      ...$('presets').querySelectorAll('button'),
      $('refresh'),
      $('auto-refresh'),
    ];
    for (const control of controls) control.disabled = on;
  }

  function stopStreams() {
    if (liveStreams) liveStreams.close();
    liveStreams = undefined;
  }

  /** The cards and the by-type table and chart, from one channelTotals message. */
  function renderTotals(totals) {
    setText('redpack-count', count(totals.count));
    setText('redpack-total', yuan(totals.totalAmount));
    setText('redpack-received', yuan(totals.totalReceived));
    setText('redpack-receivers', count(totals.receiverCount));
    setText('redpack-balance', yuan(totals.totalBalance));
    setText('as-of', `${cstTime(totals.asOf)} (red packs, all time)`);
    $('dashboard').hidden = false;
    drawChart(
      'Red-pack money by status (all time)',
      totals.byStatus.map((row) => ({
        label: axisName(row.status, row.label),
        title: `${englishName(row.status)} (${row.label})`,
        amount: row.amount,
        count: row.count,
      })),
      'red packs',
    );
    fillTable('redpacktypes', 'redpacktype-row', totals.byType, summaryRow('type'));
  }

  /** Highlights a row for a moment: a red pack just created, or just changed. */
  function highlight(row, className) {
    row.classList.add(className);
    setTimeout(() => row.classList.remove(className), HIGHLIGHT_MS);
  }

  /**
   * One redPackEvents message into "Latest red packs": SNAPSHOT events (oldest first) fill it,
   * CREATED puts a row on top, UPDATED changes its row where it is. `feed.fresh`: the first
   * event of a (re)connection, which starts the table again.
   */
  function applyEvent(event, feed) {
    const body = $('redpacks').querySelector('tbody');
    if (feed.fresh) body.replaceChildren();
    feed.fresh = false;
    const row = redPackRow(event.redPack);
    const shown = [...body.children].find((old) => old.dataset.id === event.redPack.id);
    if (shown) {
      shown.replaceWith(row);
      if (event.kind !== 'SNAPSHOT') highlight(row, 'changed');
      return;
    }
    // A change to a red pack older than the table shows in the totals only.
    if (event.kind === 'UPDATED') return;
    body.prepend(row);
    if (event.kind === 'CREATED') highlight(row, 'fresh');
    while (body.children.length > TABLE_SIZE) body.lastElementChild.remove();
  }

  /** Errors in a live message, said in the page's terms. */
  function liveProblem(errors, feed) {
    const codes = errors.map((error) => error.extensions && error.extensions.code);
    if (codes.some((code) => REFUSED.has(code))) {
      stopStreams();
      showErrors(errors);
      keyForm.hidden = !codes.includes('UNAUTHENTICATED');
      setLiveStatus('error', 'Live updates stopped: the gateway refused them (see above).');
      return;
    }
    if (codes.every((code) => typeof code === 'string' && code.startsWith('UPSTREAM_'))) {
      // Polyv failed this poll: the stream stays open and goes on when Polyv answers again.
      setLiveStatus(
        'waiting',
        codes.includes('UPSTREAM_UNAVAILABLE')
          ? 'Polyv is not answering; live updates resume when it does.'
          : `Polyv answered with an error (${inPageTerms(errors[0].message).text}); live updates resume when it answers normally.`,
      );
      return;
    }
    showErrors(errors);
    feed.errorsShown = true;
    setLiveStatus('error', 'Live updates hit a problem (see above); still listening.');
  }

  /** The channel live mode follows; `paused`: its streams are closed while the tab is hidden. */
  let liveChannel;
  let paused = false;
  let pauseTimer;

  /**
   * Live on, or on another channel: opens both subscriptions for the channel in the form.
   * `resume`: the same channel again after a pause, what is on screen kept until news arrive.
   */
  function startLive({ resume = false } = {}) {
    stopStreams();
    view++;
    paused = false;
    scheduleRefresh(undefined);
    $('status').textContent = '';
    const channel = resume ? liveChannel : filters.elements.channel.value.trim();
    if (!/^\d+$/.test(channel)) {
      showErrors([{ message: '“Channel” must be a channel number (digits only).' }]);
      setStale(true);
      setLiveStatus('error', 'Live updates need a channel number.');
      return;
    }
    liveChannel = channel;
    if (!resume) {
      showErrors([]);
      $('live-channel').textContent = channel;
      // Nothing of a date range stays on screen under an "all time" heading.
      for (const testId of [
        'redpack-count',
        'redpack-total',
        'redpack-received',
        'redpack-receivers',
        'redpack-balance',
        'as-of',
      ])
        setText(testId, '…');
      clearChart();
      $('redpacktypes').querySelector('tbody').replaceChildren();
      $('redpacks').querySelector('tbody').replaceChildren();
    }

    // What this connection has seen: live once both streams are open and totals are shown.
    const feed = { open: new Set(), totals: false, fresh: true, errorsShown: false, known: false };
    const isLive = () => feed.open.size === 2 && feed.totals;
    liveStreams = LiveStreams.open({
      endpoint: config.endpoint,
      headers: authHeaders,
      subscriptions: [
        {
          name: 'totals',
          query: LIVE_TOTALS,
          variables: { channel },
          operationName: 'DashboardTotals',
        },
        {
          name: 'events',
          query: LIVE_EVENTS,
          variables: { channel, recent: TABLE_SIZE },
          operationName: 'DashboardRedPacks',
        },
      ],
      onConnect(attempt) {
        feed.open.clear();
        feed.totals = false;
        feed.fresh = true;
        if (attempt === 0) setLiveStatus('connecting', 'Connecting…');
        else setLiveStatus('reconnecting', 'Reconnecting…');
      },
      onOpen(name) {
        feed.open.add(name);
        if (isLive()) setLiveStatus('live', 'Live');
      },
      onNext(name, payload) {
        if (payload.errors && payload.errors.length > 0) {
          liveProblem(payload.errors, feed);
          if (!liveStreams) return;
        }
        if (!payload.data) return;
        if (feed.errorsShown) showErrors([]);
        feed.errorsShown = false;
        keyForm.hidden = true;
        if (name === 'totals') {
          renderTotals(payload.data.channelTotals);
          setStale(false);
          feed.totals = true;
          if (!feed.known) rememberChannel(channel);
          feed.known = true;
        } else {
          applyEvent(payload.data.redPackEvents, feed);
        }
        if (isLive()) setLiveStatus('live', 'Live');
      },
      onRetry({ delayMs, reason }) {
        setLiveStatus(
          'reconnecting',
          `Connection lost (${reason}); reconnecting in ${Math.ceil(delayMs / 1000)} s…`,
        );
      },
      onStop({ status, errors }) {
        liveStreams = undefined;
        keyForm.hidden = status !== 401;
        showErrors(errors || []);
        setLiveStatus('error', 'Live updates stopped: the gateway refused them (see above).');
      },
    });
  }

  /** Live off: the streams closed, and the page as it is without them (a date range, refreshed). */
  function stopLive() {
    stopStreams();
    paused = false;
    view++;
    setLiveMode(false);
    setLiveStatus('off', '');
    showErrors([]);
    // Until the range's answer arrives, no all-time number stays under a range's headings.
    $('dashboard').hidden = true;
    clearChart();
    refresh();
  }

  /** The form's channel (and range), in whichever mode the page is. */
  const show = () => (liveSwitch.checked ? startLive() : refresh());

  // A hidden tab needs no live updates: after a while its streams close, and when it is shown
  // again they reopen with a fresh snapshot.
  document.addEventListener('visibilitychange', () => {
    clearTimeout(pauseTimer);
    if (document.hidden) {
      pauseTimer = setTimeout(() => {
        if (!liveStreams) return; // off, or stopped by an error: nothing to pause
        stopStreams();
        paused = true;
        setLiveStatus('paused', 'Paused while this tab is hidden; resumes when it is shown.');
      }, HIDDEN_PAUSE_MS);
    } else if (paused && liveSwitch.checked) {
      startLive({ resume: true });
    }
  });

  liveSwitch.addEventListener('change', () => {
    if (liveSwitch.checked) {
      setLiveMode(true);
      startLive();
    } else {
      stopLive();
    }
  });

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  $('presets').addEventListener('click', (event) => {
    const preset = PRESETS[event.target.dataset && event.target.dataset.preset];
    if (!preset) return;
    const { from, to } = preset(Date.now());
    filters.elements.from.value = from;
    filters.elements.to.value = to;
    refresh();
  });
  $('refresh').addEventListener('click', refresh);
  $('auto-refresh').addEventListener('change', () => {
    if ($('auto-refresh').checked) refresh();
    else scheduleRefresh(undefined);
  });
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, keyForm.elements.key.value.trim());
    keyForm.reset();
    show();
  });

  const example = config.exampleVariables;
  filters.elements.channel.value = recentChannels()[0] || example.channel;
  filters.elements.from.value = example.from;
  filters.elements.to.value = example.to;
  showRecentChannels();
  setLiveStatus('off', '');
  // A browser that restores form state may come back with Live on: then it is on.
  if (liveSwitch.checked) setLiveMode(true);
  show();
})();
