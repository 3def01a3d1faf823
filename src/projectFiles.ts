/**
 * The project's files that are not code (schema.graphql, public/), found from the package root:
 * the nearest folder above this module holding package.json. The code runs from src/ under the
 * tests and from dist/src/ once built, two depths, so a fixed `../..` would be right for one only.
 */
import { existsSync } from 'node:fs';

function packageRoot(): URL {
  for (let folder = new URL('./', import.meta.url); ;) {
    if (existsSync(new URL('package.json', folder))) return folder;
    const parent = new URL('../', folder);
    if (parent.href === folder.href) throw new Error(`no package.json above ${import.meta.url}`);
    folder = parent;
  }
}

const ROOT = packageRoot();

/** A file or folder (ending in `/`) of the project, by its path from the package root. */
export const projectFile = (relative: string): URL => new URL(relative, ROOT);
