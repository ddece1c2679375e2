// Preloaded into a cesar child process (NODE_OPTIONS=--require <this file>) by tests that must
// prove cesar never contacts a host: any attempt to open a TCP connection to, or to resolve, a host
// that is not loopback ends the process at once with exit code 99, before a single packet (or DNS
// query) leaves. NO_EGRESS_ALSO_BLOCK=<host> blocks one loopback host too, so a test can show that
// the guard does catch the database driver's connections without any traffic off the machine.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const dns = require('node:dns');

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;
const extra = process.env.NO_EGRESS_ALSO_BLOCK;
const allowed = (host) => LOOPBACK.test(String(host)) && String(host) !== extra;

function refuse(what) {
  fs.writeSync(2, `NO-EGRESS: ${what}\n`);
  process.exit(99);
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // forms: (options[, cb]), (port[, host][, cb]), (path[, cb]), and net's internal [options, cb] array
  let o = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof o !== 'object' || o === null) o = typeof o === 'string' && !/^\d+$/.test(o) ? { path: o } : { port: o, host: typeof args[1] === 'string' ? args[1] : undefined };
  if (o.path === undefined && !allowed(o.host ?? 'localhost')) refuse(`connect to ${o.host}`);
  return connect.apply(this, args);
};

for (const api of [dns, dns.promises]) {
  for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCname', 'resolveSrv']) {
    const original = api[name];
    if (typeof original !== 'function') continue;
    api[name] = function (host, ...rest) {
      if (!allowed(host)) refuse(`DNS ${name} ${host}`);
      return original.call(this, host, ...rest);
    };
  }
}
