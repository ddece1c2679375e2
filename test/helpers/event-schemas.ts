import fs from 'node:fs';
import path from 'node:path';
import AjvModule from 'ajv';
import { REPO } from './databases.js';

// The published WebSocket event schemas (schemas/events/<type>.schema.json), compiled with ajv.

/** The folder of the published schemas. */
export const EVENT_SCHEMA_DIR = path.join(REPO, 'schemas/events');

const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;

/** Per event type (the file name without .schema.json), its validator. */
export function loadEventSchemas(): Map<string, (data: unknown) => string[]> {
  const ajv = new (Ajv as unknown as new (opts: object) => { compile(schema: object): ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params: unknown }> | null } })({ allErrors: true, strict: true, strictRequired: false }) /* the snapshot's anyOf names properties defined beside it */;
  const out = new Map<string, (data: unknown) => string[]>();
  for (const file of fs.readdirSync(EVENT_SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort()) {
    const schema = JSON.parse(fs.readFileSync(path.join(EVENT_SCHEMA_DIR, file), 'utf8')) as { title: string };
    const type = file.replace(/\.schema\.json$/, '');
    if (schema.title !== type) throw new Error(`${file}: title ${schema.title} is not the event type ${type}`);
    const validate = ajv.compile(schema);
    out.set(type, (data) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)));
  }
  return out;
}
