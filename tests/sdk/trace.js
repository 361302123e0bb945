// kvfence SDK test: loaded with `node --require trace.js`, it writes one
// line per name the process resolves and per TCP connection attempt it
// makes, to the file $KVF_SDK_TRACE (appended, synchronously, so nothing is
// lost when the flow exits or crashes):
//   resolve HOST ADDR FAMILY        (or: resolve HOST error CODE)
//   connect HOST ADDR PORT ok       (or: ... fail CODE, or: ... abandoned)
// Every client socket passes through net.Socket.prototype.connect (TLS
// sockets too), and Node >= 20.12 reports each attempt of its Happy
// Eyeballs with connectionAttempt / connectionAttemptFailed events.
"use strict";
const fs = require("node:fs");
const net = require("node:net");

const file = process.env.KVF_SDK_TRACE;
if (file) {
  const fd = fs.openSync(file, "a");
  const out = (line) => fs.writeSync(fd, line + "\n");
  const hooked = Symbol("kvfTraced");
  const connect = net.Socket.prototype.connect;

  const hostOf = (args) => {
    const a = args[0];
    if (Array.isArray(a)) return hostOf(a);
    if (a && typeof a === "object") return a.host || a.path || "localhost";
    if (typeof args[1] === "string") return args[1];
    return "localhost";
  };

  net.Socket.prototype.connect = function (...args) {
    if (!this[hooked]) {
      this[hooked] = true;
      const host = hostOf(args);
      let last = null;
      this.on("lookup", (err, addr, family) => {
        if (err) out(`resolve ${host} error ${err.code || err.message}`);
        else out(`resolve ${host} ${addr} ${family}`);
      });
      this.on("connectionAttempt", (ip, port) => {
        last = { ip, port };
      });
      this.on("connectionAttemptFailed", (ip, port, family, err) => {
        out(`connect ${host} ${ip} ${port} fail ${(err && err.code) || "error"}`);
        last = null;
      });
      // Happy Eyeballs gave up waiting (250 ms) and tried the next
      // address: slow, not refused.
      this.on("connectionAttemptTimeout", (ip, port) => {
        out(`connect ${host} ${ip} ${port} abandoned`);
        last = null;
      });
      this.once("connect", () => {
        const ip = this.remoteAddress || (last && last.ip);
        const port = this.remotePort || (last && last.port);
        out(`connect ${host} ${ip} ${port} ok`);
        last = null;
      });
    }
    return connect.apply(this, args);
  };
}
