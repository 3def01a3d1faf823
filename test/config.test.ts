/** Configuration: defaults, the emulator switch, the playground setting, and messages that name the variable. */
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../src/config/index.js';

const credentials = { POLYV_APP_ID: 'app', POLYV_APP_SECRET: 'secret', POLYV_USER_ID: 'user' };

describe('configuration', () => {
  it('runs on the emulator with documented defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      polyv: { mode: 'emulator' },
      upstream: { timeoutMs: 10_000, retries: 2, maxConcurrency: 20 },
      server: { port: 4000, host: '0.0.0.0' },
      playground: true,
      environment: 'development',
    });
  });

  it('uses Polyv with all three credentials, treating empty variables as unset', () => {
    const config = loadConfig({ ...credentials, POLYV_BASE_URL: '', PORT: '8080' });
    expect(config.polyv).toEqual({
      mode: 'polyv',
      baseUrl: 'https://api.polyv.net',
      credentials: { appId: 'app', appSecret: 'secret', userId: 'user' },
    });
    expect(config.server.port).toBe(8080);
  });

  it.each([
    [{}, 'development', true],
    [{ NODE_ENV: 'production' }, 'production with the emulator', true],
    [{ NODE_ENV: 'production', ...credentials }, 'production with Polyv', false],
    [
      { NODE_ENV: 'production', ...credentials, GATEWAY_PLAYGROUND: 'on' },
      'production, switched on',
      true,
    ],
    [{ GATEWAY_PLAYGROUND: 'off' }, 'development, switched off', false],
  ])('playground for %j (%s): %p', (env, _case, expected) => {
    expect(loadConfig(env).playground).toBe(expected);
  });

  it('reports every bad variable at once, by name, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ POLYV_APP_SECRET: 'hush-hush', PORT: '99999', GATEWAY_PLAYGROUND: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/GATEWAY_PLAYGROUND/);
    expect(message).not.toContain('hush-hush');
  });
});
