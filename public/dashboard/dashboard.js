// The example dashboard: how a browser app consumes this gateway. One GraphQL POST per view;
// money is shown from the exact Decimal strings the API returns: digits are grouped as text,
// never through a float.
/* global Chart */
(function () {
  'use strict';

  const QUERY = `query Dashboard($channel: ID!, $from: Date!, $to: Date!, $startTime: DateTime!, $endTime: DateTime!) {
  channel(id: $channel) {
    incomeSummary(startDate: $from, endDate: $to) { count total { amount } byPayType { payType label count amount { amount } } byDay { date count amount { amount fen } } asOf }
    redPackSummary(startTime: $startTime, endTime: $endTime) { count totalAmount { amount } totalReceived { amount } receiverCount byType { type label count amount { amount } } asOf }
    redPacks(first: 10, startTime: $startTime, endTime: $endTime) { nodes { id createdAt typeLabel sender { nickname } amount { amount } receiveCount } }
  }
}`;
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
          refresh();
        });
        return button;
      }),
    );
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
    const headers = { 'content-type': 'application/json' };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.authorization = `Bearer ${key}`;
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
    const lines = [];
    for (const error of errors) {
      const { text, field } = inPageTerms(error.message);
      if (field && fieldsSaid.has(field)) continue;
      if (field) fieldsSaid.add(field);
      const code = error.extensions && error.extensions.code;
      const line = document.createElement('p');
      line.textContent = code ? `${code}: ${text}` : text;
      lines.push(line);
    }
    box.replaceChildren(...lines);
    box.hidden = errors.length === 0;
  }

  /** Fills a table body: one row per item, `cells` gives the texts of a row. */
  function fillTable(id, testId, items, cells) {
    $(id)
      .querySelector('tbody')
      .replaceChildren(
        ...items.map((item) => {
          const row = document.createElement('tr');
          row.dataset.testid = testId;
          for (const text of cells(item)) {
            const cell = document.createElement('td');
            cell.textContent = text;
            row.append(cell);
          }
          return row;
        }),
      );
  }

  const setText = (testId, text) => {
    document.querySelector(`[data-testid="${testId}"]`).textContent = text;
  };

  function drawChart(days) {
    const canvas = $('income-chart');
    const chart = Chart.getChart(canvas);
    if (chart) chart.destroy();
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: days.map((day) => day.date.slice(5)),
        // Bar heights need numbers: parsed from the Decimal for drawing only, never added up.
        datasets: [{ label: 'Income (¥)', data: days.map((day) => Number(day.amount.amount)) }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { ticks: { callback: (value) => `¥${groupDigits(String(value))}` } } },
        plugins: {
          legend: { display: false },
          // The tooltip shows the exact amount, as the API wrote it.
          tooltip: {
            callbacks: {
              label: (item) =>
                `${yuan(days[item.dataIndex].amount)}, ${count(days[item.dataIndex].count)} payments`,
            },
          },
        },
      },
    });
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
    drawChart(income.byDay);
    const summaryRow = (row) => [row.label, count(row.count), yuan(row.amount)];
    fillTable('paytypes', 'paytype-row', income.byPayType, summaryRow);
    fillTable('redpacktypes', 'redpacktype-row', packs.byType, summaryRow);
    fillTable('redpacks', 'redpack-row', redPacks.nodes, (pack) => [
      cstTime(pack.createdAt),
      pack.typeLabel,
      pack.sender.nickname,
      yuan(pack.amount),
      count(pack.receiveCount),
    ]);
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

  async function refresh() {
    clearTimeout(refreshTimer);
    const status = $('status');
    const form = Object.fromEntries(new FormData(filters));
    const problem = formProblem(form);
    if (problem) {
      showErrors([{ message: problem }]);
      status.textContent = '';
      document.body.dataset.state = 'error';
      scheduleRefresh(undefined);
      return;
    }
    status.textContent = 'Loading…';
    document.body.dataset.state = 'loading';
    try {
      const { data, errors = [], maxAge } = await fetchDashboard(form);
      showErrors(errors);
      const channel = data && data.channel;
      if (channel) render(channel);
      if (channel && errors.length === 0) rememberChannel(form.channel);
      $('dashboard').hidden = !channel;
      status.textContent = channel ? `Updated ${cstTime(new Date().toISOString())} CST` : '';
      document.body.dataset.state = errors.length > 0 ? 'error' : 'ready';
      // Not before the answer could change (its max-age); a rejected question is not repeated.
      const fresh = maxAge === undefined ? DEFAULT_REFRESH_S : Math.max(maxAge, MIN_REFRESH_S);
      scheduleRefresh(channel && errors.length === 0 ? fresh : undefined);
    } catch (error) {
      showErrors([{ message: `Could not reach the gateway: ${error.message}` }]);
      status.textContent = '';
      document.body.dataset.state = 'error';
      scheduleRefresh(RETRY_S);
    }
  }

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh();
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
    refresh();
  });

  const example = config.exampleVariables;
  filters.elements.channel.value = recentChannels()[0] || example.channel;
  filters.elements.from.value = example.from;
  filters.elements.to.value = example.to;
  showRecentChannels();
  refresh();
})();
