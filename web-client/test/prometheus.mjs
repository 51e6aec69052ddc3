// A strict parser of the Prometheus text exposition format (version 0.0.4),
// for tests that read the server's /metrics: any line a Prometheus server
// would refuse makes it throw, naming the line. No tests and no side effects
// at import.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** The sample names a family of each type may have, as suffixes of the family's name. */
const SUFFIXES = /** @type {Record<string, string[]>} */ ({
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
});

/**
 * @typedef {{name: string, labels: Record<string, string>, value: number}} Sample
 * @typedef {{name: string, type: string, help: string | null, samples: Sample[]}} Family
 */

/**
 * @param {string} raw the part after `name=` starting at its opening quote
 * @param {number} at index of the opening quote
 * @returns {{value: string, end: number}} the unescaped value and the index after the closing quote
 */
function quoted(raw, at) {
  if (raw[at] !== '"') throw new Error('a label value must be in double quotes');
  let value = '';
  for (let i = at + 1; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') return { value, end: i + 1 };
    if (c === '\n') break;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const e = raw[++i];
    if (e === '\\') value += '\\';
    else if (e === '"') value += '"';
    else if (e === 'n') value += '\n';
    else throw new Error(`unknown escape \\${e ?? ''} in a label value`);
  }
  throw new Error('unterminated label value');
}

/**
 * @param {string} line a sample line
 * @returns {{name: string, labels: Record<string, string>, rest: string}}
 */
function nameAndLabels(line) {
  const m = /^[^\s{]+/.exec(line);
  const name = m?.[0] ?? '';
  if (!METRIC_NAME.test(name)) throw new Error(`bad metric name "${name}"`);
  /** @type {Record<string, string>} */
  const labels = {};
  let i = name.length;
  if (line[i] !== '{') return { name, labels, rest: line.slice(i) };
  i += 1;
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '}') break;
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error('a label without "="');
    const label = line.slice(i, eq).trim();
    if (!LABEL_NAME.test(label)) throw new Error(`bad label name "${label}"`);
    if (label in labels) throw new Error(`label "${label}" given twice`);
    const { value, end } = quoted(line, eq + 1);
    labels[label] = value;
    i = end;
    while (line[i] === ' ') i++;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected "," or "}" after label "${label}"`);
  }
  return { name, labels, rest: line.slice(i + 1) };
}

/**
 * Parses a /metrics page.
 * @param {string} text
 * @returns {{families: Map<string, Family>, samples: Sample[]}}
 * @throws {Error} on the first line that is not valid exposition format
 */
export function parsePrometheus(text) {
  if (text.length && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  /** @type {Map<string, Family>} */
  const families = new Map();
  /** @type {Sample[]} */
  const samples = [];
  /** Families whose samples have been listed and closed (a family's lines form one group). */
  const done = new Set();
  /** @type {Family | null} */
  let current = null;
  const seen = new Set();
  /** @param {string} name @returns {Family} */
  const family = (name) => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  /** @param {Family} f */
  const enter = (f) => {
    if (current === f) return;
    if (done.has(f.name)) throw new Error(`the lines of "${f.name}" are not one group`);
    if (current) done.add(current.name);
    current = f;
  };
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1} ("${line.slice(0, 120)}")`;
    try {
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
        if (!m) return; // a plain comment
        const [, keyword, name, arg = ''] = m;
        if (!METRIC_NAME.test(name)) throw new Error(`bad metric name "${name}"`);
        const f = family(name);
        enter(f);
        if (keyword === 'TYPE') {
          if (!TYPES.has(arg.trim())) throw new Error(`unknown type "${arg}"`);
          if (f.samples.length || seen.has(`type:${name}`)) throw new Error(`TYPE of "${name}" after its samples or twice`);
          seen.add(`type:${name}`);
          f.type = arg.trim();
        } else {
          if (f.help !== null) throw new Error(`HELP of "${name}" twice`);
          f.help = arg.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
        }
        return;
      }
      const { name, labels, rest } = nameAndLabels(line);
      const parts = rest.trim().split(/\s+/);
      if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error('expected " value [timestamp]"');
      if (!FLOAT.test(parts[0])) throw new Error(`bad value "${parts[0]}"`);
      if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp "${parts[1]}"`);
      const value = Number(parts[0].replace(/Inf$/, 'Infinity'));
      // The family: the TYPE'd name this sample's name extends by an allowed suffix, else its own.
      const owner = current && SUFFIXES[current.type].some((s) => current && name === current.name + s)
        ? current
        : family(name);
      if (owner.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels)) throw new Error('a bucket without "le"');
      enter(owner);
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error('the same series twice');
      seen.add(key);
      const sample = { name, labels, value };
      owner.samples.push(sample);
      samples.push(sample);
    } catch (err) {
      throw new Error(`invalid Prometheus exposition at ${where}: ${/** @type {Error} */ (err).message}`);
    }
  });
  return { families, samples };
}
