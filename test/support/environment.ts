/**
 * Set before every test file (jest.config.js `setupFiles`). @apollo/gateway, used here as a real
 * router in front of our subgraph, reports usage to Apollo and probes cloud metadata addresses
 * (169.254.169.254: AWS, GCP, Azure, Alibaba) unless told not to. Tests reach nothing but
 * loopback.
 */
process.env['APOLLO_TELEMETRY_DISABLED'] = 'true';
