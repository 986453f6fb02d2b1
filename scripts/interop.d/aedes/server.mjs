// aedes for scripts/interop: a plain TCP listener and a TLS listener on 127.0.0.1, both asking
// for the one username and password given. Prints "ready" on stdout once both listen; SIGTERM
// (node's default) ends it.
//
// usage: node server.mjs PORT TLS_PORT USERNAME PASSWORD CERT_PEM KEY_PEM
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { Aedes } from 'aedes'

const [port, tlsPort, username, password, certFile, keyFile] = process.argv.slice(2)
if (!keyFile) {
  console.error('usage: node server.mjs PORT TLS_PORT USERNAME PASSWORD CERT_PEM KEY_PEM')
  process.exit(2)
}

const aedes = await Aedes.createBroker()
// aedes answers a failed authentication with CONNACK 5 (not authorized) unless the error
// carries another returnCode: keep its default.
aedes.authenticate = (client, user, pass, callback) => {
  callback(null, user === username && pass !== undefined && pass !== null && pass.toString() === password)
}
aedes.on('clientError', (client, err) => console.error(`client ${client && client.id}: ${err.message}`))

const listen = (server, p) => new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(Number(p), '127.0.0.1', resolve)
})
await listen(net.createServer(aedes.handle), port)
await listen(tls.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, aedes.handle), tlsPort)
console.log('ready')
