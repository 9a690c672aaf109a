import { parseCamt } from './camt.ts';
import {
  decodeText, headerSignature, knownCsvFormat, MAX_FILE_BYTES, MAX_FILE_MB, parseCsvStatement, readCsvTable, StatementFileError, unzipStatements,
  type CsvMapping, type ParsedStatement,
} from './statement.ts';

/** What the import needs to read a file: the association's IBAN (for CSVs without one) and the remembered CSV mappings. */
export interface ReadOptions {
  fallbackIban: string;
  mappingFor(signature: string): Promise<CsvMapping | null>;
  /** a mapping given with this upload (the treasurer just chose the columns) */
  mapping?: CsvMapping | null;
}

/** A CSV whose columns the system does not know yet: the header, for the mapping form. */
export class CsvMappingNeeded extends StatementFileError {
  constructor(public readonly header: string[], public readonly signature: string) {
    super('csv_unknown');
  }
}

async function readOne(name: string, bytes: Buffer, opts: ReadOptions): Promise<ParsedStatement[]> {
  const text = decodeText(bytes);
  const head = text.trimStart().slice(0, 200);
  if (head.startsWith('<')) {
    // an XML declaration naming ISO-8859-1: the bytes are Latin-1 whatever UTF-8 decoding made of them
    const latin1 = /^<\?xml[^>]*encoding=["']ISO-8859-1["']/i.test(head);
    return parseCamt(latin1 ? bytes.toString('latin1') : text);
  }
  if (/\.xml$/i.test(name)) throw new StatementFileError('not_camt');
  const table = readCsvTable(text);
  const signature = headerSignature(table.header);
  const known = knownCsvFormat(table.header);
  const mapping = known ? null : opts.mapping ?? (await opts.mappingFor(signature));
  if (!known && !mapping) throw new CsvMappingNeeded(table.header, signature);
  return [parseCsvStatement(text, opts.fallbackIban, mapping)];
}

/** The statements in an uploaded file: CAMT.053 XML, a ZIP of them, or a bank CSV. */
export async function readStatementFile(name: string, bytes: Buffer, opts: ReadOptions): Promise<ParsedStatement[]> {
  if (bytes.length > MAX_FILE_BYTES) throw new StatementFileError('too_large', { maxMb: MAX_FILE_MB });
  if (!bytes.length) throw new StatementFileError('empty');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const entries = await unzipStatements(bytes);
    if (!entries.length) throw new StatementFileError('zip_empty');
    const out: ParsedStatement[] = [];
    for (const e of entries) {
      try {
        out.push(...(await readOne(e.name, e.bytes, opts)));
      } catch (err) {
        if (err instanceof StatementFileError && !(err instanceof CsvMappingNeeded)) throw new StatementFileError(err.code, { ...err.params, file: e.name.slice(0, 100) });
        throw err;
      }
    }
    return out;
  }
  return readOne(name, bytes, opts);
}
