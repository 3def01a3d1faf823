/**
 * The part of graphql-schema-linter's programmatic API (v3, plain CommonJS, no types of its own)
 * that test/schemaDocs.test.ts uses: a configuration that picks rules by name and an ignore list,
 * and the validator that runs them over SDL text.
 */
declare module 'graphql-schema-linter' {
  /** SDL text and where its lines came from (used for inline `lint-disable` comments). */
  export interface LinterSchema {
    definition: string;
    sourceMap: unknown;
  }

  export interface ConfigurationOptions {
    /** Rule names, e.g. `fields-have-descriptions`: only these run. */
    rules?: string[];
    /** Per rule, the schema coordinates (`Type`, `Type.field`, `Type.field.arg`) it skips. */
    ignore?: Record<string, string[]>;
  }

  /** A rule is a function named after it in UpperCamelCase, e.g. `FieldsHaveDescriptions`. */
  export type Rule = (...args: never[]) => unknown;

  export class Configuration {
    constructor(schema: LinterSchema, options?: ConfigurationOptions);
    getRules(): Rule[];
    /** Problems with the options themselves, e.g. a rule name that does not exist. */
    validate(): { message: string; field: string; type: 'error' | 'warning' }[];
  }

  export interface LintError {
    message: string;
    ruleName?: string;
  }

  const linter: {
    configuration: { Configuration: typeof Configuration };
    validator: {
      validateSchemaDefinition(
        schema: LinterSchema,
        rules: Rule[],
        configuration: Configuration,
      ): LintError[];
    };
  };
  export default linter;
}

declare module 'graphql-schema-linter/lib/source_map.js' {
  /** Maps lines of the combined SDL back to the named sources it was joined from. */
  export class SourceMap {
    constructor(sources: Record<string, string>);
  }
  const sourceMap: { SourceMap: typeof SourceMap };
  export default sourceMap;
}
