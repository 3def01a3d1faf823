/**
 * `npm run docs:config`: prints docs/configuration.md (before Prettier aligns it) on stdout; the
 * npm script writes it there and formats it.
 */
import { configurationMarkdown } from './configDocs.js';

process.stdout.write(configurationMarkdown());
