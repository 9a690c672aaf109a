// The part of madge's API the import-cycle test uses (madge ships no type declarations).
declare module 'madge' {
  interface MadgeConfig {
    baseDir?: string;
    fileExtensions?: string[];
    tsConfig?: string | object;
    excludeRegExp?: (string | RegExp)[];
    detectiveOptions?: Record<string, Record<string, unknown>>;
  }
  interface MadgeInstance {
    obj(): Record<string, string[]>;
    circular(): string[][];
    warnings(): { skipped: string[] };
  }
  export default function madge(path: string | string[], config?: MadgeConfig): Promise<MadgeInstance>;
}
