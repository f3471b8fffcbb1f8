// tokenstorm witness for an AWS IoT Core custom authorizer function (Node.js, no dependencies, CommonJS).
//
// Wrap the handler; every invocation then writes one JSON line to the function's log (CloudWatch Logs), which a
// tokenstorm run with `[target.aws] witness = "logs"` reads to join each invocation to the attempt that caused it:
//
//   const { wrap } = require('./tokenstorm-witness');      // or require('tokenstorm-witness') from the layer
//   exports.handler = wrap(async (event, context) => { ... });
//
// Async (promise-returning) handlers and callback-style handlers `(event, context, callback)` are supported.
// The line (format version 1, one per invocation, also when the handler throws or calls back with an error):
//
//   {"tokenstorm_witness":1,"run":"ab12cd34","attempt":"ab12cd34-valid-3-0","protocols":["tls","http"],
//    "signature_verified":true,"token_sha256":"0123456789abcdef","authenticated":true,
//    "request_id":"...","unix_ms":1796288400123}
//
// - attempt: the `x-tokenstorm-attempt` header (any case; HTTPS publish and the MQTT-over-WebSocket upgrade), else
//   the MQTT username's free text `ts-<attempt id>` (up to the first `?`), else null. run is the
//   attempt id's first `-` separated field.
// - token_sha256: the first 16 hex characters of the SHA-256 of the token. The token itself is never written: the
//   log is readable by more people than the signing key, and a token is a credential.
// - authenticated: the handler's isAuthenticated; null when the handler failed (the error is passed on).
// - unix_ms: when the invocation started.
//
// In Lambda, console.log lines appear as `<ISO time>\t<request id>\tINFO\t<line>`; tokenstorm reads either form.
// The witness never breaks the handler: any error writing the line is swallowed after a one-line note on stderr.
//
// Command line (tests, fixtures): `node tokenstorm-witness.js [--request-id ID] [--unix-ms N] [--response JSON]
// < event.json` prints the line for that event. The Rust side of this contract is src/contract/witness_line.rs in
// the tokenstorm repository; keep them equal.
'use strict';

const crypto = require('crypto');

const VERSION = 1;
const HEADER = 'x-tokenstorm-attempt';
const USERNAME_PREFIX = 'ts-';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// The attempt id the event carries: the header (any case, not empty), else the MQTT username's ts-<id>.
function attemptOf(event) {
  const data = isObject(event) ? event.protocolData : undefined;
  if (!isObject(data)) return null;
  const headers = isObject(data.http) ? data.http.headers : undefined;
  if (isObject(headers)) {
    let value = Object.prototype.hasOwnProperty.call(headers, HEADER) ? headers[HEADER] : undefined;
    if (value === undefined) {
      const name = Object.keys(headers).find((k) => k.toLowerCase() === HEADER);
      value = name === undefined ? undefined : headers[name];
    }
    if (typeof value === 'string' && value !== '') return value;
  }
  const username = isObject(data.mqtt) ? data.mqtt.username : undefined;
  if (typeof username === 'string') {
    const cut = username.indexOf('?');
    const freeText = cut < 0 ? username : username.slice(0, cut);
    if (freeText.startsWith(USERNAME_PREFIX) && freeText.length > USERNAME_PREFIX.length) {
      return freeText.slice(USERNAME_PREFIX.length);
    }
  }
  return null;
}

// The witness line (an object, in the line's key order) for an event, the handler's response (null when it
// failed), the invocation's request id and its start time in milliseconds since the Unix epoch.
function witnessLine(event, response, requestId, unixMs) {
  const attempt = attemptOf(event);
  const dash = attempt === null ? -1 : attempt.indexOf('-');
  const ev = isObject(event) ? event : {};
  const authenticated = isObject(response) ? response.isAuthenticated : undefined;
  return {
    tokenstorm_witness: VERSION,
    run: dash > 0 ? attempt.slice(0, dash) : null,
    attempt,
    protocols: Array.isArray(ev.protocols) ? ev.protocols.filter((p) => typeof p === 'string') : [],
    signature_verified: ev.signatureVerified === true,
    token_sha256:
      typeof ev.token === 'string'
        ? crypto.createHash('sha256').update(ev.token, 'utf8').digest('hex').slice(0, 16)
        : null,
    authenticated: typeof authenticated === 'boolean' ? authenticated : null,
    request_id: requestId == null ? '' : String(requestId),
    unix_ms: Math.trunc(Number(unixMs)),
  };
}

function write(event, response, context, unixMs) {
  try {
    const requestId = isObject(context) ? context.awsRequestId : undefined;
    console.log(JSON.stringify(witnessLine(event, response, requestId, unixMs)));
  } catch (e) {
    // The witness must never break the handler.
    try {
      const note = `${e && e.name}: ${e && e.message}`.replace(/\n/g, ' ').slice(0, 200);
      console.error(`tokenstorm_witness: line not written: ${note}`);
    } catch (_) {
      /* nothing left to do */
    }
  }
}

const isThenable = (v) => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';

// Wraps a handler: returns what it returns (or resolves to), fails as it fails; writes one witness line per
// invocation either way. A handler declaring three parameters is treated as callback style.
function wrap(handler) {
  if (typeof handler !== 'function') {
    throw new TypeError('tokenstorm-witness: wrap(handler) needs the handler function');
  }
  if (handler.length >= 3) {
    return function witnessed(event, context, callback) {
      const unixMs = Date.now();
      let written = false;
      const once = (response) => {
        if (!written) {
          written = true;
          write(event, response, context, unixMs);
        }
      };
      const cb = (err, response) => {
        once(err ? null : response);
        if (typeof callback === 'function') callback(err, response);
      };
      let result;
      try {
        result = handler.call(this, event, context, cb);
      } catch (e) {
        once(null);
        throw e;
      }
      if (!isThenable(result)) return result;
      return result.then(
        (response) => {
          once(response);
          return response;
        },
        (e) => {
          once(null);
          throw e;
        },
      );
    };
  }
  return async function witnessed(event, context) {
    const unixMs = Date.now();
    let response;
    try {
      response = await handler.call(this, event, context);
    } catch (e) {
      write(event, null, context, unixMs);
      throw e;
    }
    write(event, response, context, unixMs);
    return response;
  };
}

module.exports = { wrap, witnessLine, VERSION };

function main(argv) {
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const event = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const response = opt('--response') === undefined ? null : JSON.parse(opt('--response'));
  const unixMs = opt('--unix-ms') === undefined ? Date.now() : Number(opt('--unix-ms'));
  console.log(JSON.stringify(witnessLine(event, response, opt('--request-id') || '', unixMs)));
}

if (require.main === module) main(process.argv.slice(2));
