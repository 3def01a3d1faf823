// The playground page's only script of its own: GraphiQL (served from npm, no CDN) pointed at
// this gateway, opened on an example dashboard query with the docs explorer showing (on a wide
// screen: on a phone it would take the editor's place). With API keys on, the Headers tab opens
// on where the key goes.
/* global React, ReactDOM, GraphiQL */
(function () {
  const config = JSON.parse(document.getElementById('playground-config').textContent);

  // On the built-in emulator, the demo ids a first query needs.
  const demoLines = (config.demo || [])
    .map(
      (channel) =>
        `#   ${channel.channelId} ${channel.name}: sessions ${channel.sessionIds.join(', ')}\n`,
    )
    .join('');
  const demo = demoLines
    ? `# Demo data (built-in Polyv emulator). Channels and their live sessions:\n${demoLines}`
    : '';
  const exampleQuery = `# polyv-graphql: Polyv red packs and income as one typed GraphQL API.
# Press ▶ (or Ctrl-Enter) to run; the Docs panel describes every type and field.
${demo}query Dashboard($channel: ID!, $from: Date!, $to: Date!) {
  channel(id: $channel) {
    id
    redPacks(first: 5) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        type
        typeLabel
        status
        createdAt
        sender { nickname }
        amount { amount currency }
        balance { amount }
        receives { user { nickname } amount { amount } receivedAt }
      }
    }
    incomeRecords(startDate: $from, endDate: $to, first: 5) {
      totalCount
      nodes { id payType payTypeLabel amount { amount } payer { nickname } paidAt }
    }
  }
}
`;

  // Narrower than this (the page's CSS agrees), the docs explorer beside the editor would leave
  // neither readable: it starts closed, a tap on its icon away.
  const narrow = window.matchMedia('(max-width: 640px)').matches;
  const keyHeaders = JSON.stringify({ Authorization: 'Bearer <key>' }, null, 2);

  // A shared link (/graphql?query=…&variables=…&operationName=…) opens on what it carries.
  const shared = new URLSearchParams(window.location.search);
  const sharedQuery = shared.get('query');
  const fetcher = GraphiQL.createFetcher({ url: config.endpoint });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: exampleQuery,
      ...(sharedQuery === null
        ? { variables: JSON.stringify(config.exampleVariables, null, 2) }
        : {
            query: sharedQuery,
            variables: shared.get('variables') ?? '',
            operationName: shared.get('operationName') ?? undefined,
          }),
      ...(narrow ? {} : { visiblePlugin: 'Documentation Explorer' }),
      ...(config.apiKeys
        ? { defaultHeaders: keyHeaders, defaultEditorToolsVisibility: 'headers' }
        : { defaultEditorToolsVisibility: 'variables' }),
      shouldPersistHeaders: false,
    }),
  );
})();
