// Types of bin/cli-bundle.js (plain JavaScript: it runs before tsx is loaded).
export declare const ROOT: string;
export declare const CACHE_DIR: string;
/** The bundle's path when it was built from exactly today's sources, else undefined. */
export declare function freshBundle(): string | undefined;
/** Bundle harness/cli.ts into the cache; its path, or undefined when it cannot be built here. */
export declare function buildBundle(): Promise<string | undefined>;
/** The bundle to import (fresh, or rebuilt now), or undefined to run through tsx. */
export declare function cliBundle(): Promise<string | undefined>;
